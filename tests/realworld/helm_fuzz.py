#!/usr/bin/env python3
"""Random differential test of kiln's Helm renderer against `helm template`.

  helm_fuzz.py --out CORPUS_DIR --kiln PATH [--per-chart N] [--seed S]
               [--only SUBSTR] [--json FILE] [--keep DIR]

For every chart of a corpus built by helm_corpus.py (CORPUS_DIR/charts/*),
starting from one of its cases helm renders (its defaults, else the first
ci/ file), generates values variants from the chart's own values.yaml: booleans toggled
(each with some probability, or every `enabled`/`create` switch turned on),
replica counts varied, image tags, names (nameOverride, fullnameOverride),
release names and namespaces. Each variant is rendered by `helm template`
and `kiln render --no-cache` with the same flags and compared:

- helm fails: kiln must fail too;
- helm's output is the same on a second run: the documents must be equal
  (as a multiset of parsed YAML, like the corpus runner);
- helm's output changes between runs (random passwords, certificates, time):
  only apiVersion/kind/namespace/name are compared.

The variants are a pure function of the seed, the chart and the values file,
so a failure is reproduced by re-running with the same --seed and --only;
--keep DIR writes each failing variant's values file and command lines there.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import random
import re
import shlex
import sys
import zlib

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helm_corpus as hc  # noqa: E402

NAME_CHARS = "abcdefghijklmnopqrstuvwxyz"


def leaves(node, path=()):
    """(path, value) for every scalar reachable through maps (lists are not entered)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, str):
                yield from leaves(v, path + (k,))
    else:
        yield path, node


def put(tree, path, value):
    cur = tree
    for k in path[:-1]:
        nxt = cur.get(k)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[k] = nxt
        cur = nxt
    cur[path[-1]] = value


def rand_name(rng, n=6):
    return "".join(rng.choice(NAME_CHARS) for _ in range(n))


def variants_for(values, rng, count):
    """`count` values overlays for a chart whose defaults are `values`."""
    all_leaves = list(leaves(values or {}))
    bools = [p for p, v in all_leaves if isinstance(v, bool)]
    switches = [p for p in bools if p[-1] in ("enabled", "create", "install")]
    replicas = [p for p, v in all_leaves if isinstance(v, int) and not isinstance(v, bool)
                and re.search(r"replica", p[-1], re.I)]
    tags = [p for p, v in all_leaves if p[-1] == "tag" and len(p) >= 2
            and "image" in p[-2].lower() and (v is None or isinstance(v, str))]
    out = []
    for i in range(count):
        ov = {}
        kind = ("switches-on", "toggle", "toggle", "names", "mixed")[i % 5]
        if kind == "switches-on":
            for p in switches:
                put(ov, p, True)
        elif kind == "toggle":
            for p in bools:
                if rng.random() < 0.3:
                    put(ov, p, not dict(all_leaves).get(p))
        elif kind == "names":
            if "fullnameOverride" in (values or {}):
                put(ov, ("fullnameOverride",), "fo-" + rand_name(rng))
            if "nameOverride" in (values or {}):
                put(ov, ("nameOverride",), "no-" + rand_name(rng))
            for p in tags:
                put(ov, p, "v%d.%d.%d" % (rng.randint(0, 3), rng.randint(0, 20),
                                          rng.randint(0, 9)))
        else:
            for p in switches:
                if rng.random() < 0.5:
                    put(ov, p, True)
            for p in bools:
                if p not in switches and rng.random() < 0.15:
                    put(ov, p, not dict(all_leaves).get(p))
        for p in replicas:
            if rng.random() < 0.5:
                put(ov, p, rng.randint(0, 5))
        release = rng.choice(["rel", "r-" + rand_name(rng, 4), "my-release", "x"])
        namespace = rng.choice(["default", "ns-" + rand_name(rng, 4), "prod"])
        out.append((kind, ov, release, namespace))
    return out


def compare(helm_out, helm_out2, kiln_out):
    if helm_out != helm_out2:
        try:
            got = hc.kinds_names(kiln_out)
        except yaml.YAMLError:
            return "kiln output is not YAML"
        want = hc.kinds_names(helm_out)
        return None if got == want else "resources differ (nondeterministic render)"
    want = hc.canon_docs(helm_out)
    if want is None:
        return None if kiln_out == helm_out else "output differs (text comparison)"
    got = hc.canon_docs(kiln_out)
    if got is None:
        return "kiln output is not YAML PyYAML reads"
    return None if got == want else "output differs: " + hc.first_diff(want, got)


def base_case(out, chart_id):
    """The chart's case the variants start from: its defaults when helm renders them, else
    the first of its other cases helm renders (e.g. a ci/ file giving required values)."""
    best = None
    for group in ("helm", "helm-nondet"):
        d = os.path.join(out, group, "cases")
        for cid in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if not cid.startswith(chart_id + "--"):
                continue
            rank = (0 if cid == chart_id + "--default" else 1 if "--ci-" in cid else 2, cid)
            if best is None or rank < best[0]:
                best = (rank, os.path.join(d, cid))
    if best is None:
        return None
    with open(os.path.join(best[1], "case.yaml"), encoding="utf-8") as fh:
        meta = yaml.safe_load(fh)
    inp = os.path.join(best[1], "input")
    return {"case": meta["id"], "values": [os.path.join(inp, v) for v in meta["args"]["values"]],
            "set": meta["args"]["set"], "set_string": meta["args"]["set_string"],
            "api_versions": meta["args"]["api_versions"],
            "kube_version": meta["args"]["kube_version"],
            "skip_tests": meta["args"]["skip_tests"]}


def run_variant(a, chart_id, chart_dir, n, kind, ov, release, namespace, base_meta):
    work = os.path.join(a.work, "%s-%d" % (chart_id, n))
    os.makedirs(work, exist_ok=True)
    vfile = os.path.join(work, "values.yaml")
    with open(vfile, "w", encoding="utf-8") as fh:
        fh.write(hc.dump(ov))
    args = {k: v for k, v in base_meta.items() if k not in ("case", "values")}
    args.update(release=release, namespace=namespace, values=[], include_crds=False)
    extra = []
    for v in base_meta["values"] + [vfile]:
        extra += ["--values", v]
    parent, target = os.path.split(chart_dir)
    hcmd = hc.helm_template_cmd(a.helm, parent, target, args) + extra
    kcmd = hc.kiln_cmd(a.kiln, parent, target, args, root=a.out) + extra
    hrc, hout, herr, _ = hc.run_cmd(hcmd, cwd=work)
    krc, kout, kerr, _ = hc.run_cmd(kcmd, cwd=work, timeout=a.timeout)
    res = {"chart": chart_id, "n": n, "kind": kind, "helm_rc": hrc}
    if hrc != 0:
        res["status"] = "pass" if krc != 0 else "fail"
        if krc == 0:
            res["reason"] = "helm fails (%s), kiln succeeds" % hc.last_error_line(herr)[:300]
    elif krc != 0:
        res.update(status="fail", reason="kiln error: " + hc.last_error_line(kerr)[:500])
    else:
        hout2 = hout
        if hc.canon_docs(kout) != hc.canon_docs(hout):
            _rc, hout2, _e, _ = hc.run_cmd(hcmd, cwd=work)
        why = compare(hout, hout2, kout)
        res["status"] = "pass" if why is None else "fail"
        if why:
            res["reason"] = why
    if res["status"] == "fail" and a.keep:
        keep = os.path.join(a.keep, "%s-%d" % (chart_id, n))
        os.makedirs(keep, exist_ok=True)
        with open(os.path.join(keep, "values.yaml"), "w", encoding="utf-8") as fh:
            fh.write(hc.dump(ov))
        with open(os.path.join(keep, "commands.sh"), "w", encoding="utf-8") as fh:
            fh.write(" ".join(shlex.quote(c) for c in hcmd) + "\n")
            fh.write(" ".join(shlex.quote(c) for c in kcmd) + "\n")
        res["kept"] = keep
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="corpus directory made by helm_corpus.py build")
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--helm", default=os.environ.get("KILN_RW_HELM",
                                                     os.path.join(hc.ORACLES, "helm")))
    ap.add_argument("--per-chart", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default=None)
    ap.add_argument("--jobs", "-j", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--keep", default=None, help="write failing variants here")
    ap.add_argument("--corpus", default=hc.DEFAULT_CORPUS)
    a = ap.parse_args()
    a.out = os.path.abspath(a.out)
    a.work = os.path.join(a.out, "fuzz-work")
    corpus = hc.load_corpus(a.corpus)
    jobs = []
    for ch in corpus["charts"]:
        if a.only and not any(p and p in ch["id"] for p in a.only.split(",")):
            continue
        chart_dir = os.path.join(a.out, "charts", ch["id"], hc.target_of(ch))
        vpath = os.path.join(chart_dir, "values.yaml")
        if not os.path.exists(vpath):
            print("skip %s: not built" % ch["id"], file=sys.stderr)
            continue
        with open(vpath, encoding="utf-8") as fh:
            try:
                values = yaml.safe_load(fh) or {}
            except yaml.YAMLError:
                values = {}
        rng = random.Random(a.seed * 1000003 + zlib.crc32(ch["id"].encode()))
        base = base_case(a.out, ch["id"])
        if base is None:
            print("skip %s: helm renders none of its cases" % ch["id"], file=sys.stderr)
            continue
        for n, (kind, ov, rel, ns) in enumerate(variants_for(values, rng, a.per_chart)):
            jobs.append((ch["id"], chart_dir, n, kind, ov, rel, ns, base))
    results = []
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        for r in ex.map(lambda j: run_variant(a, *j), jobs):
            results.append(r)
            if r["status"] == "fail":
                print("FAIL %s#%d (%s): %s" % (r["chart"], r["n"], r["kind"], r["reason"][:300]),
                      flush=True)
    per_chart = collections.defaultdict(collections.Counter)
    classes = collections.defaultdict(list)
    for r in results:
        per_chart[r["chart"]][r["status"]] += 1
        if r["status"] == "fail":
            classes[hc.error_class(r["reason"])].append("%s#%d" % (r["chart"], r["n"]))
    print("\n%-45s %5s %5s" % ("chart", "pass", "total"))
    for k in sorted(per_chart):
        print("%-45s %5d %5d" % (k, per_chart[k]["pass"], sum(per_chart[k].values())))
    print("\nfailure classes:")
    for k, ids in sorted(classes.items(), key=lambda kv: -len(kv[1])):
        print("%4d  %s\n      e.g. %s" % (len(ids), k, ", ".join(ids[:4])))
    passed = sum(1 for r in results if r["status"] == "pass")
    helm_err = sum(1 for r in results if r["helm_rc"] != 0)
    print("\n%d variants of %d charts (helm fails on %d): %d agree, %d differ" % (
        len(results), len(per_chart), helm_err, passed, len(results) - passed))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump({"seed": a.seed, "results": results}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
