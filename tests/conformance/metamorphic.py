#!/usr/bin/env python3
"""Random differential check of the overlay plugin against `kubectl kustomize`.

Wraps the target of kustomize cases in randomly generated, realistic
transforming overlays (prefixes, namespaces with cluster-scoped and unknown
kinds, `labels` with includeSelectors/includeTemplates, annotations, images,
replicas, JSON patches (some selecting their targets by name pattern, kind
alternation, label selector or namespace), strategic merge patches that set
fields to null, replacements with bracketed keys, delimiters and created fields, generators
with options and `behavior: merge`, components, nested layers), builds each
with `kubectl kustomize` and `kiln render`, and reports every variant where
they disagree: different documents (compared as data, in order), or one
failing where the other succeeds. Finds behaviour the listed cases do not pin
down.

Usage: tests/conformance/metamorphic.py KILN [--kubectl KUBECTL] [--suite DIR]
           [--per-case N] [--seed S] [--filter TEXT] [--show]

The oracle is kustomize v5.7.1 (kubectl v1.35.2): --kubectl, else
KILN_KUBECTL, else ~/.cache/kiln-oracles/bin/kubectl. The suite defaults to
../shared/conformance/kustomize (cases with `expect: output`); any directory
of conformance-layout cases works. Needs PyYAML. A run is reproducible from
its seed; --show prints the overlay of each disagreeing variant.
"""
import argparse
import glob
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(HERE, "..", "..", "..", "shared", "conformance", "kustomize")


def dump(obj):
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)


class Facts:
    """What the wrapped target renders: kinds, names, images, maps."""

    def __init__(self, docs):
        self.docs = [d for d in docs if isinstance(d, dict) and d.get("kind")]
        self.by_kind = {}
        for d in self.docs:
            self.by_kind.setdefault(d["kind"], []).append(d)
        self.images = []
        for d in self.docs:
            spec = (((d.get("spec") or {}).get("template") or {}).get("spec") or {})
            for c in spec.get("containers") or []:
                if isinstance(c, dict) and isinstance(c.get("image"), str):
                    self.images.append(c["image"].split("@")[0].rsplit(":", 1)[0])

    def name(self, d):
        """The name an overlay selects d by: a generated ConfigMap or Secret is
        selected by the name it was declared with, not the hashed one."""
        name = (d.get("metadata") or {}).get("name")
        if name and d.get("kind") in ("ConfigMap", "Secret") and HASHED.search(name):
            return name[:-11]
        return name

    def pick(self, rng, kinds=None):
        pool = [d for d in self.docs if (kinds is None or d["kind"] in kinds) and self.name(d)]
        return rng.choice(pool) if pool else None


HASHED = re.compile(r"-[bcdfghkmt2-9]{10}$")


def gen_base(name):
    """The name a generated ConfigMap/Secret was declared with (hash suffix dropped)."""
    if len(name) > 11 and name[-11] == "-":
        return name[:-11]
    return name


# Each piece returns (kustomization fields, extra files {path: text}) or None.

def p_prefix(rng, f, layer):
    return {rng.choice(["namePrefix", "nameSuffix"]): rng.choice(["x-", "pre-", "-s", "-v2"])}, {}


def p_namespace(rng, f, layer):
    fields = {"namespace": rng.choice(["ns1", "prod", "team-a"])}
    files = {}
    if rng.random() < 0.5:
        kinds = rng.sample([
            ("rbac.authorization.k8s.io/v1", "ClusterRole"),
            ("flowcontrol.apiserver.k8s.io/v1", "FlowSchema"),
            ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
            ("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration"),
            ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"),
            ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
            ("scheduling.k8s.io/v1", "PriorityClass"),
            ("v1", "Namespace"),
            ("example.com/v1", "Widget"),
            ("storage.k8s.io/v1", "StorageClass"),
        ], 3)
        docs = [{"apiVersion": av, "kind": k, "metadata": {"name": "extra-%s" % k.lower()}}
                for av, k in kinds]
        files["%s-extra.yaml" % layer] = "---\n".join(dump(d) for d in docs)
        fields["resources"] = ["%s-extra.yaml" % layer]
    return fields, files


def p_labels(rng, f, layer):
    if rng.random() < 0.3:
        return {"commonLabels": {"app.kubernetes.io/part-of": rng.choice(["shop", "x"])}}, {}
    entry = {"pairs": {rng.choice(["team", "env", "tier"]): rng.choice(["a", "prod", "web"])}}
    if rng.random() < 0.5:
        entry["includeSelectors"] = rng.random() < 0.5
    if rng.random() < 0.5:
        entry["includeTemplates"] = rng.random() < 0.7
    return {"labels": [entry]}, {}


def p_annotations(rng, f, layer):
    return {"commonAnnotations": {rng.choice(["owner", "example.com/team"]):
                                  rng.choice(["ops", "a b", "1", "multi\nline"])}}, {}


def p_images(rng, f, layer):
    if not f.images:
        return None
    img = rng.choice(f.images)
    e = {"name": img}
    r = rng.random()
    if r < 0.4:
        e["newTag"] = rng.choice(["v9", "1.2.3"])
    elif r < 0.7:
        e["newName"] = "mirror.example/" + img.split("/")[-1]
        e["newTag"] = "v1"
    else:
        e["digest"] = "sha256:" + "0" * 64
    return {"images": [e]}, {}


def p_replicas(rng, f, layer):
    d = f.pick(rng, ["Deployment", "StatefulSet"])
    if not d:
        return None
    return {"replicas": [{"name": f.name(d), "count": rng.randint(0, 5)}]}, {}


def p_json_patch(rng, f, layer):
    d = f.pick(rng)
    if not d:
        return None
    ops = [{"op": "add", "path": "/metadata/annotations", "value": {"patched": "yes"}}]
    if rng.random() < 0.5:
        ops = [{"op": "add", "path": "/metadata/labels/patched", "value": "json"}]
        if not (d.get("metadata") or {}).get("labels"):
            ops.insert(0, {"op": "add", "path": "/metadata/labels", "value": {}})
    return {"patches": [{"target": {"kind": d["kind"], "name": f.name(d)},
                         "patch": dump(ops)}]}, {}


def p_patch_selector(rng, f, layer):
    """A JSON patch whose target selects by pattern: a regular expression on the
    name (Go's syntax: a `{` opening no repetition is a literal), kinds as an
    alternation, a label selector, or the namespace."""
    d = f.pick(rng)
    if not d:
        return None
    meta = d.get("metadata") or {}
    name = f.name(d)
    r = rng.random()
    if r < 0.3:
        target = {"name": rng.choice([re.escape(name[:3]) + ".*", "(?i)" + name.upper(),
                                      name[:-1] + "\\w?", ".*" + re.escape(name[-2:]),
                                      "${" + name + "}|" + name])}
    elif r < 0.5:
        other = rng.choice(sorted(f.by_kind))
        target = {"kind": "%s|%s" % (d["kind"], other), "name": name}
    elif r < 0.8 and meta.get("labels"):
        k, v = rng.choice(sorted(meta["labels"].items()))
        target = {"labelSelector": rng.choice(["%s=%s" % (k, v), "%s" % k, "%s in (%s,zz)" % (k, v),
                                               "!nothing-%s" % layer])}
    else:
        target = {"kind": d["kind"], "namespace": meta.get("namespace") or ".*"}
    ops = [{"op": "add", "path": "/metadata/annotations", "value": {"selected": layer}}]
    return {"patches": [{"target": target, "patch": dump(ops)}]}, {}


def leaves(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                yield from leaves(v, path + (k,))
            elif not isinstance(v, list):
                yield path + (k,), v


def p_smp_null(rng, f, layer):
    """A strategic merge patch by name that clears one existing map field and sets another."""
    d = f.pick(rng)
    if not d:
        return None
    cands = [p for p, _v in leaves(d) if p[0] not in ("apiVersion", "kind")
             and p[:2] != ("metadata", "name") and p[:2] != ("metadata", "namespace")]
    patch = {"apiVersion": d["apiVersion"], "kind": d["kind"], "metadata": {"name": f.name(d)}}
    if cands:
        p = rng.choice(cands)
        cur = patch
        for k in p[:-1]:
            cur = cur.setdefault(k, {})
        cur[p[-1]] = None
    patch["metadata"].setdefault("labels", {})["smp"] = "yes"
    return {"patches": [{"patch": dump(patch)}]}, {}


def p_smp_target(rng, f, layer):
    d = f.pick(rng, ["Deployment", "StatefulSet", "DaemonSet"])
    if not d:
        return None
    patch = {"apiVersion": d["apiVersion"], "kind": d["kind"], "metadata": {"name": "ignored"},
             "spec": {"template": {"metadata": {"annotations": {"smp": "t"}}}}}
    return {"patches": [{"target": {"kind": d["kind"]}, "patch": dump(patch)}]}, {}


def p_replacements(rng, f, layer):
    src = f.pick(rng)
    tgt = f.pick(rng)
    if not src or not tgt:
        return None
    sel = {"kind": src["kind"], "name": f.name(src)}
    source = dict(sel, fieldPath=rng.choice(["metadata.name", ".metadata.name", "kind"]))
    key = rng.choice(["[example.com/from]", "[cert-manager.io/inject-ca-from]", "copied"])
    opts = {"create": True}
    if rng.random() < 0.4:
        opts.update(delimiter="/", index=rng.choice([0, 1, 2]))
    select = {"kind": tgt["kind"]}
    if rng.random() < 0.3:
        # kustomize v5.7.1 selects replacement targets by exact name, not by pattern
        select["name"] = rng.choice([f.name(tgt), f.name(tgt)[:2] + ".*"])
    target = {"select": select,
              "fieldPaths": [rng.choice(["metadata.annotations.", ".metadata.annotations."]) + key],
              "options": opts}
    if rng.random() < 0.3:
        target["reject"] = [{"name": rng.choice(["nothing-has-this-name", ".*"])}]
    return {"replacements": [{"source": source, "targets": [target]}]}, {}


def p_generators(rng, f, layer):
    fields = {}
    gen = {"name": "gen-%s" % layer, "literals": ["k=v", "n=%d" % rng.randint(0, 9)]}
    if rng.random() < 0.5:
        gen["options"] = {"labels": {"gen": "yes"}, "annotations": {"g": "a"}}
        if rng.random() < 0.5:
            gen["options"]["disableNameSuffixHash"] = True
    fields["configMapGenerator"] = [gen]
    cms = [d for d in f.by_kind.get("ConfigMap", []) if f.name(d)]
    if cms and rng.random() < 0.5:
        base = gen_base(f.name(rng.choice(cms)))
        fields["configMapGenerator"].append({"name": base, "behavior": "merge",
                                             "literals": ["merged=1"]})
    if rng.random() < 0.4:
        fields["secretGenerator"] = [{"name": "sec-%s" % layer, "literals": ["p=q"],
                                      "type": rng.choice(["Opaque", "kubernetes.io/tls"])}]
    if rng.random() < 0.2:
        fields["secretGenerator"] = [{"name": "empty-%s" % layer}]
    return fields, {}


PIECES = [p_prefix, p_namespace, p_labels, p_annotations, p_images, p_replicas, p_json_patch,
          p_patch_selector, p_smp_null, p_smp_target, p_replacements, p_generators]


def merge_fields(into, fields):
    for k, v in fields.items():
        if isinstance(v, list):
            into.setdefault(k, []).extend(v)
        elif isinstance(v, dict):
            into.setdefault(k, {}).update(v)
        else:
            into[k] = v


def layer(rng, f, name, n):
    fields, files = {}, {}
    for piece in rng.sample(PIECES, n):
        got = piece(rng, f, name)
        if got:
            merge_fields(fields, got[0])
            files.update(got[1])
    if not fields:
        # kustomize refuses an empty kustomization: every layer does something.
        merge_fields(fields, p_prefix(rng, f, name)[0])
    return fields, files


def plan(rng, f, target):
    """Files of a random overlay wrapping ../input/target, the wrapper at
    kustomization.yaml. The wrapper lives beside the case's input, not in it:
    kustomize refuses a kustomization that reaches a directory holding it."""
    shape = rng.choice(["flat", "flat", "component", "nested", "nested-component"])
    files = {}
    target = os.path.normpath(os.path.join("input", target))
    inner_ref = "../" + target
    if shape.startswith("nested"):
        fields, extra = layer(rng, f, "inner", rng.randint(1, 3))
        fields["resources"] = ["../../" + target] + fields.get("resources", [])
        files.update({"inner/" + k: v for k, v in extra.items()})
        files["inner/kustomization.yaml"] = dump(fields)
        inner_ref = "inner"
    fields, extra = layer(rng, f, "outer", rng.randint(1, 3))
    fields["resources"] = [inner_ref] + fields.get("resources", [])
    files.update(extra)
    if shape.endswith("component"):
        cfields, cextra = layer(rng, f, "comp", rng.randint(1, 2))
        cfields = dict({"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component"},
                       **cfields)
        files.update({"comp/" + k: v for k, v in cextra.items()})
        files["comp/kustomization.yaml"] = dump(cfields)
        fields["components"] = ["comp"]
    files["kustomization.yaml"] = dump(fields)
    return shape, files


def run(cmd, cwd=None):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)


def docs_of(text):
    return [d for d in yaml.safe_load_all(text) if d not in (None, {}, [], "")]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kiln")
    ap.add_argument("--kubectl", default=os.environ.get("KILN_KUBECTL") or os.path.expanduser(
        "~/.cache/kiln-oracles/bin/kubectl"))
    ap.add_argument("--suite", default=SUITE)
    ap.add_argument("--per-case", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--filter")
    ap.add_argument("--show", action="store_true")
    args = ap.parse_args()
    kiln = os.path.abspath(args.kiln)
    rng = random.Random(args.seed)
    total = differ = both_fail = 0
    cases = sorted(os.path.dirname(p) for p in glob.glob(os.path.join(args.suite, "**", "case.yaml"),
                                                          recursive=True))
    for case in cases:
        meta = yaml.safe_load(open(os.path.join(case, "case.yaml"), encoding="utf-8"))
        if meta.get("expect") != "output" or (args.filter and args.filter not in case):
            continue
        target = str(meta.get("target", "."))
        base = run([args.kubectl, "kustomize", os.path.join(case, "input", target)])
        if base.returncode != 0:
            continue
        facts = Facts(docs_of(base.stdout))
        for i in range(args.per_case):
            shape, files = plan(rng, facts, os.path.normpath(target))
            work = tempfile.mkdtemp()
            try:
                shutil.copytree(os.path.join(case, "input"), os.path.join(work, "input"),
                                symlinks=True)
                wrap = os.path.join(work, "zzwrap")
                for rel, text in files.items():
                    os.makedirs(os.path.dirname(os.path.join(wrap, rel)), exist_ok=True)
                    with open(os.path.join(wrap, rel), "w", encoding="utf-8") as fh:
                        fh.write(text)
                want = run([args.kubectl, "kustomize", wrap])
                got = run([kiln, "render", "--no-cache", "zzwrap"], cwd=work)
                total += 1
                if want.returncode != 0 and got.returncode != 0:
                    both_fail += 1
                    continue
                if want.returncode != 0:
                    same, why = False, "kustomize fails (%s), kiln succeeds" % want.stderr.strip().splitlines()[-1][:200]
                elif got.returncode != 0:
                    same, why = False, "kiln fails: %s" % got.stderr.strip()[:300]
                else:
                    same = docs_of(want.stdout) == docs_of(got.stdout)
                    why = "output differs"
                if not same:
                    differ += 1
                    print("DIFF %s #%d (%s): %s" % (os.path.basename(case), i, shape, why))
                    if args.show:
                        for rel, text in sorted(files.items()):
                            print("  # %s\n    %s" % (rel, text.replace("\n", "\n    ")))
            finally:
                shutil.rmtree(work)
    agree = total - differ
    print("%d variants (%d where both fail), %d agree (%.1f%%), %d differ" % (
        total, both_fail, agree, 100.0 * agree / max(total, 1), differ))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
