#!/usr/bin/env python3
"""Differential check of the overlay plugin against `kubectl kustomize`.

Wraps the target of every kustomize conformance case (expect: output) in a
new kustomization that adds transformations (prefixes, namespaces, labels,
annotations, images, replicas, generators, JSON and strategic merge patches),
builds it with both `kubectl kustomize` and `kiln render`, and reports every
variant where kubectl succeeds and the outputs differ as data. Finds
behaviour the listed cases do not pin down.

Usage: tests/conformance/metamorphic.py KILN [VARIANT...]
       (the suite is read from ../shared/conformance/kustomize; needs kubectl
       and PyYAML)

Known differences: `labels` with `includeTemplates` reaches StatefulSet
volumeClaimTemplates in kubectl's kustomize v5.5.0 but not in the newer
kustomize the conformance suite comes from (`includeVolumeClaimTemplates`);
kiln follows the suite.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(HERE, "..", "..", "..", "shared", "conformance", "kustomize", "cases")

VARIANTS = {
    "prefix_ns": "namePrefix: x-\nnamespace: ns1\n",
    "labels": "commonLabels:\n  w: one\ncommonAnnotations:\n  a: b\n",
    "labels2": "labels:\n- pairs:\n    team: t\n  includeSelectors: true\n  includeTemplates: true\nnameSuffix: -s\n",
    "images": "images:\n- name: nginx\n  newTag: 9.9\n- name: busybox\n  newName: my/busybox\nreplicas:\n- name: deploy\n  count: 7\n",
    "gen": "configMapGenerator:\n- name: extra\n  literals:\n  - k=v\nsecretGenerator:\n- name: sec\n  literals:\n  - p=q\nnamePrefix: p-\n",
    "patch_all": "patches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /metadata/annotations/patched\n      value: 'yes'\n- target:\n    kind: ConfigMap\n  patch: |-\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: ignored\n      labels:\n        smp: 'yes'\n",
    "ns_sort": "namespace: other\nsortOptions:\n  order: legacy\nnameSuffix: -z\ncommonLabels:\n  app.kubernetes.io/part-of: x\n",
    "combo": "namePrefix: pre-\nnameSuffix: -suf\nnamespace: combo\ncommonLabels:\n  c: d\nimages:\n- name: nginx\n  newName: reg/nginx\n  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    "smp_all": "patches:\n- target:\n    kind: Deployment\n  patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: ignored\n    spec:\n      template:\n        metadata:\n          labels:\n            patched: smp\n- target:\n    kind: Service\n  patch: |-\n    - op: replace\n      path: /spec/type\n      value: NodePort\n",
    "replacements": "replacements:\n- source:\n    kind: Deployment\n    fieldPath: metadata.name\n  targets:\n  - select:\n      kind: Service\n    fieldPaths:\n    - metadata.annotations.dep\n    options:\n      create: true\n  - select:\n      kind: ConfigMap\n    fieldPaths:\n    - data.dep\n    options:\n      create: true\n",
    "generated_refs": "namePrefix: g-\nconfigMapGenerator:\n- name: extra\n  behavior: create\n  literals:\n  - k=v\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /spec/template/spec/volumes\n      value: [{name: extra, configMap: {name: extra}}]\n",
}


# Variants that need more than one file: {relative path: text}, with the
# wrapper's kustomization at "kustomization.yaml".
FILE_VARIANTS = {
    "component": {
        "kustomization.yaml": "resources:\n- ../{target}\ncomponents:\n- comp\n",
        "comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: c-\ncommonLabels:\n  comp: 'yes'\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /metadata/annotations/comp\n      value: 'yes'\n",
    },
    "two_layers": {
        "kustomization.yaml": "resources:\n- inner\nnamePrefix: outer-\ncommonLabels:\n  layer: outer\n",
        "inner/kustomization.yaml": "resources:\n- ../../{target}\nnameSuffix: -inner\nnamespace: inner\n",
    },
}


def data_variants(docs):
    """Variants built from what the case renders: its own names and images."""
    out = {}
    names = {}
    for d in docs:
        if isinstance(d, dict):
            names.setdefault(d.get("kind"), (d.get("metadata") or {}).get("name"))
    images = []
    for d in docs:
        for c in (((d or {}).get("spec") or {}).get("template") or {}).get("spec", {}).get("containers", []) or []:
            if isinstance(c, dict) and isinstance(c.get("image"), str):
                images.append(c["image"].split("@")[0].rsplit(":", 1)[0])
    if images:
        out["own_images"] = "images:\n- name: %s\n  newName: mirror.example/%s\n  newTag: v9\n" % (images[0], images[0].split("/")[-1])
    dep = names.get("Deployment")
    if dep:
        out["own_replicas"] = "replicas:\n- name: %s\n  count: 5\npatches:\n- target:\n    kind: Deployment\n    name: %s\n  patch: |-\n    - op: replace\n      path: /spec/replicas\n      value: 4\n" % (dep, dep)
    cm = names.get("ConfigMap")
    if cm:
        base = cm
        if len(cm) > 11 and cm[-11] == "-":
            base = cm[:-11]
        out["own_cm_merge"] = "configMapGenerator:\n- name: %s\n  behavior: merge\n  literals:\n  - zz=1\n" % base
    return out


def variant_files(name, target):
    if name in FILE_VARIANTS:
        return {p: t.replace("{target}", target) for p, t in FILE_VARIANTS[name].items()}
    return {"kustomization.yaml": "resources:\n- ../%s\n%s" % (target, VARIANTS[name])}


def main():
    kiln = os.path.abspath(sys.argv[1])
    chosen = sys.argv[2:] or list(VARIANTS) + list(FILE_VARIANTS) + ["data"]
    total = differ = 0
    for case in sorted(glob.glob(os.path.join(SUITE, "*"))):
        meta = yaml.safe_load(open(os.path.join(case, "case.yaml")))
        if meta.get("expect") != "output":
            continue
        plans = []
        for name in chosen:
            if name != "data":
                plans.append((name, variant_files(name, meta["target"])))
                continue
            base = subprocess.run(["kubectl", "kustomize", os.path.join(case, "input", meta["target"])],
                                  capture_output=True, text=True)
            if base.returncode == 0:
                for vname, text in data_variants(list(yaml.safe_load_all(base.stdout))).items():
                    plans.append((vname, {"kustomization.yaml": "resources:\n- ../%s\n%s" % (meta["target"], text)}))
        for name, files in plans:
            work = tempfile.mkdtemp()
            try:
                shutil.copytree(os.path.join(case, "input"), os.path.join(work, "input"), symlinks=True)
                wrap = os.path.join(work, "input", "zzwrap")
                for rel, text in files.items():
                    os.makedirs(os.path.dirname(os.path.join(wrap, rel)), exist_ok=True)
                    with open(os.path.join(wrap, rel), "w") as f:
                        f.write(text)
                want = subprocess.run(["kubectl", "kustomize", wrap], capture_output=True, text=True)
                if want.returncode != 0:
                    continue
                total += 1
                got = subprocess.run([kiln, "render", "--no-cache", "zzwrap"],
                                     cwd=os.path.join(work, "input"), capture_output=True, text=True)
                same = got.returncode == 0 and \
                    list(yaml.safe_load_all(want.stdout)) == list(yaml.safe_load_all(got.stdout))
                if not same:
                    differ += 1
                    print("DIFF %s %s %s" % (os.path.basename(case), name, got.stderr.strip()[:300]))
            finally:
                shutil.rmtree(work)
    print("%d variants, %d differ" % (total, differ))


if __name__ == "__main__":
    main()
