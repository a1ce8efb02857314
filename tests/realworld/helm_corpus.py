#!/usr/bin/env python3
"""Build and run the local Helm real-world corpus (see README.md).

  helm_corpus.py build --mirror-root DIR --out DIR [--only SUBSTR] [--jobs N]
  helm_corpus.py run   --out DIR --kiln PATH [--only SUBSTR] [--json FILE] [--jobs N]
  helm_corpus.py list  [--mirror-root DIR]
  helm_corpus.py bench --out DIR --kiln PATH [--results RUN.json] [--runs N]

`build` reads helm-corpus.yaml (charts pinned by commit, values variants),
extracts every chart from bare git mirrors (MIRROR_ROOT/OWNER+NAME/repo,
read with `git cat-file`, never checked out), vendors the dependencies its
Chart.yaml asks for into charts/ (a directory or a `helm package`d .tgz), and
writes one case per chart x values variant, with helm's output as expected:

  OUT/charts/<chart-id>/<target>/   the vendored chart (shared by the cases)
  OUT/helm/cases/<case>/            deterministic renders (expected.yaml)
  OUT/helm-nondet/cases/<case>/     two helm renders differ (random, genCA, now):
                                    compared by apiVersion/kind/namespace/name only
  OUT/helm-error/cases/<case>/      helm fails: kiln must fail too

Each case directory follows the conformance-suite layout (case.yaml, input/
with the chart hard-linked under input/<target>, expected.yaml), so the shared
conformance runner can run it too.

`run` renders every case with `kiln render --no-cache` and compares: the
documents as a multiset of parsed YAML (order and key order ignored, empty
documents dropped); kinds and names for helm-nondet; failure for helm-error.
It prints failing cases, the pass rate per repository and per chart, and
groups failures into classes by the first line of kiln's error.
"""

import argparse
import collections
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.join(HERE, "helm-corpus.yaml")
ORACLES = os.path.join(os.path.expanduser("~"), ".cache", "kiln-oracles", "bin")


# ---------------------------------------------------------------------------
# git mirrors


def git_dir(mirror_root, repo):
    base = os.path.join(mirror_root, repo.replace("/", "+"), "repo")
    if os.path.isdir(os.path.join(base, ".git")):
        return os.path.join(base, ".git")
    if not os.path.isdir(base):
        raise RuntimeError("no git mirror of %s at %s" % (repo, base))
    return base


def ls_tree(gd, commit, prefix):
    args = ["git", "--git-dir", gd, "ls-tree", "-r", "-z", "--full-tree", commit]
    if prefix not in ("", "."):
        args += ["--", prefix.rstrip("/") + "/"]
    out = subprocess.run(args, check=True, capture_output=True).stdout
    rows = []
    for ent in out.split(b"\0"):
        if ent:
            meta, path = ent.split(b"\t", 1)
            mode, typ, sha = meta.split()
            rows.append((mode.decode(), typ.decode(), sha.decode(), path.decode()))
    return rows


def extract(gd, commit, prefix, dest):
    """Writes every blob below prefix into dest; returns the paths a snapshot lacks."""
    prefix = "" if prefix in ("", ".") else prefix.rstrip("/")
    rows = [r for r in ls_tree(gd, commit, prefix) if r[1] == "blob"]
    missing = []
    proc = subprocess.Popen(["git", "--git-dir", gd, "cat-file", "--batch"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    for mode, _typ, sha, path in rows:
        proc.stdin.write((sha + "\n").encode())
        proc.stdin.flush()
        hdr = proc.stdout.readline().decode().split()
        if len(hdr) < 3 or hdr[1] == "missing":
            missing.append(path)
            continue
        data = proc.stdout.read(int(hdr[2]))
        proc.stdout.read(1)
        out = os.path.join(dest, os.path.relpath(path, prefix) if prefix else path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if mode == "120000":
            os.symlink(data.decode(), out)
        else:
            with open(out, "wb") as fh:
                fh.write(data)
            if mode == "100755":
                os.chmod(out, 0o755)
    proc.stdin.close()
    proc.wait()
    return missing


# ---------------------------------------------------------------------------
# comparison


def canon_docs(text):
    """The output as a multiset of documents (None when it is not YAML PyYAML reads)."""
    out = collections.Counter()
    try:
        for d in yaml.safe_load_all(text):
            if d is None or d in ({}, [], ""):
                continue
            out[json.dumps(d, sort_keys=True, default=str, ensure_ascii=False)] += 1
    except yaml.YAMLError:
        return None
    return out


def kinds_names(text):
    out = collections.Counter()
    for d in yaml.safe_load_all(text):
        if isinstance(d, dict) and d:
            md = d.get("metadata") or {}
            out["%s %s %s/%s" % (d.get("apiVersion"), d.get("kind"), md.get("namespace") or "",
                                 md.get("name"))] += 1
    return out


def run_cmd(cmd, cwd=None, timeout=300):
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "", "timeout after %ss" % timeout, time.monotonic() - t0
    return (p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"),
            time.monotonic() - t0)


def last_error_line(err):
    """helm's `Error:` line, else the last line that is not a warning."""
    for l in err.splitlines():
        if l.startswith("Error:"):
            return l
    lines = [l for l in err.strip().splitlines() if l.strip() and not l.startswith(
        ("# Warning", "walk.go", "coalesce.go", "WARNING"))]
    return lines[-1] if lines else ""


# ---------------------------------------------------------------------------
# corpus


def dump(obj):
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True,
                          width=1000)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def load_corpus(path):
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def target_of(ch):
    return ch.get("target") or os.path.basename(ch["chart"].rstrip("/"))


def expand_cases(corpus, mirror_root=None, only=None):
    """Every case of the corpus: (chart entry, case id, variant dict).

    With `only`, the ci/ files of a chart whose id no part of `only` mentions
    are not listed, so a build of a few charts needs only their mirrors."""
    cases = []
    for ch in corpus["charts"]:
        if ch.get("default", True):
            cases.append((ch, ch["id"] + "--default", {}))
        wanted = not only or any(p and (p in ch["id"] + "--" or p.startswith(ch["id"] + "--"))
                                 for p in only.split(","))
        if ch.get("ci") and mirror_root and wanted:
            commit = corpus["repos"][ch["repo"]]["commit"]
            gd = git_dir(mirror_root, ch["repo"])
            cidir = ("" if ch["chart"] in (".", "") else ch["chart"].rstrip("/") + "/") + "ci"
            for _m, typ, _s, path in ls_tree(gd, commit, cidir):
                name = os.path.basename(path)
                if (typ == "blob" and _m != "120000" and os.path.dirname(path) == cidir
                        and name.endswith((".yaml", ".yml"))):
                    stem = re.sub(r"(-values)?\.ya?ml$", "", name)
                    cases.append((ch, "%s--ci-%s" % (ch["id"], stem),
                                  {"ci_file": "ci/" + name}))
        for v in ch.get("variants") or []:
            cases.append((ch, "%s--%s" % (ch["id"], v["name"]), v))
    return cases


class Builder:
    def __init__(self, a, corpus):
        self.a = a
        self.corpus = corpus
        self.helm = a.helm
        self.kube_version = str((corpus.get("defaults") or {}).get("kube_version", "1.35.0"))

    def commit(self, repo, entry=None):
        if entry and entry.get("commit"):
            return entry["commit"]
        c = (self.corpus["repos"].get(repo) or {}).get("commit")
        if not c:
            raise RuntimeError("helm-corpus.yaml pins no commit for %s" % repo)
        return c

    def vendor(self, chart_dir, deps, tmp):
        for d in deps or []:
            name = d.get("dir") or os.path.basename(d["path"].rstrip("/"))
            stage = tempfile.mkdtemp(dir=tmp)
            dep_dir = os.path.join(stage, name)
            extract(git_dir(self.a.mirror_root, d["repo"]), self.commit(d["repo"], d), d["path"],
                    dep_dir)
            self.vendor(dep_dir, d.get("deps"), tmp)
            charts = os.path.join(chart_dir, "charts")
            os.makedirs(charts, exist_ok=True)
            if d.get("as", "dir") == "tgz":
                rc, _o, err, _t = run_cmd([self.helm, "package", dep_dir, "-d", charts])
                if rc != 0:
                    raise RuntimeError("helm package %s: %s" % (d["path"], err.strip()))
            else:
                dst = os.path.join(charts, name)
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(dep_dir, dst, symlinks=True)
            shutil.rmtree(stage, ignore_errors=True)

    def stage_chart(self, ch):
        """OUT/charts/<id>/<target>, built once per chart definition."""
        key = hashlib.sha256(json.dumps([ch, self.corpus["repos"]], sort_keys=True)
                             .encode()).hexdigest()[:16]
        base = os.path.join(self.a.out, "charts", ch["id"])
        stamp = os.path.join(base, ".stamp")
        target = target_of(ch)
        if os.path.exists(stamp) and open(stamp, encoding="utf-8").read() == key:
            return os.path.join(base, target)
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(base)
        tmp = tempfile.mkdtemp(prefix="helm-corpus-")
        try:
            chart_dir = os.path.join(base, target)
            extract(git_dir(self.a.mirror_root, ch["repo"]), self.commit(ch["repo"]), ch["chart"],
                    chart_dir)
            if not os.path.exists(os.path.join(chart_dir, "Chart.yaml")):
                raise RuntimeError("no Chart.yaml at %s in %s" % (ch["chart"], ch["repo"]))
            for rm in ch.get("remove") or []:
                p = os.path.join(chart_dir, rm)
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
            self.vendor(chart_dir, ch.get("deps"), tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        write(stamp, key)
        return os.path.join(base, target)

    def build_case(self, ch, case_id, v, chart_src):
        target = target_of(ch)
        tmp = tempfile.mkdtemp(prefix="helm-case-", dir=self.a.out)
        try:
            inp = os.path.join(tmp, "input")
            os.makedirs(inp)
            shutil.copytree(chart_src, os.path.join(inp, target), symlinks=True,
                            copy_function=os.link)
            values = []
            if v.get("ci_file"):
                values.append(os.path.join(target, v["ci_file"]))
            for f in v.get("chart_values") or []:
                values.append(os.path.join(target, f))
            if v.get("values") is not None:
                write(os.path.join(inp, "values", "values.yaml"), dump(v["values"]))
                values.append("values/values.yaml")
            args = {
                "release": v.get("release") or ch.get("release", "release-name"),
                "namespace": v.get("namespace") or ch.get("namespace"),
                "values": values,
                "set": list(ch.get("set") or []) + list(v.get("set") or []),
                "set_string": list(ch.get("set_string") or []) + list(v.get("set_string") or []),
                "api_versions": list(v.get("api_versions", ch.get("api_versions")) or []),
                "kube_version": self.kube_version,
                "include_crds": bool(v.get("include_crds", ch.get("include_crds", False))),
                "skip_tests": bool(v.get("skip_tests", ch.get("skip_tests", False))),
            }
            cmd = helm_template_cmd(self.helm, inp, target, args)
            rc1, out1, err1, _ = run_cmd(cmd, cwd=tmp)
            rc2, out2, _e2, _ = run_cmd(cmd, cwd=tmp) if rc1 == 0 else (rc1, "", "", 0)
            if rc1 != 0:
                group = "helm-error"
            elif out1 != out2:
                group = "helm-nondet"
            else:
                group = "helm"
            meta = {
                "suite": "helm",
                "id": case_id,
                "group": group,
                "source": "%s %s" % (ch["repo"], ch["chart"]),
                "repo": ch["repo"],
                "chart": ch["id"],
                "commit": self.commit(ch["repo"]),
                "target": target,
                "args": args,
                "expect": "error" if rc1 != 0 else "output",
                "oracle": {"helm": "agrees", "helm-nondet": "nondeterministic",
                           "helm-error": "agrees"}[group],
                "expected_from": "helm v4.1.4 template",
            }
            if rc1 != 0:
                write(os.path.join(tmp, "expected-error.txt"), "\n")
                meta["helm_error"] = last_error_line(err1).replace(tmp + "/", "")[:1000]
            else:
                write(os.path.join(tmp, "expected.yaml"), out1)
                if canon_docs(out1) is None:
                    meta["compare"] = "text"
                    meta["notes"] = "helm's output is not YAML PyYAML reads: compared as text"
            if group == "helm-nondet":
                meta["compare"] = "kinds-names"
                write(os.path.join(tmp, "expected-kinds-names.txt"),
                      "".join("%s\n" % k for k in sorted(kinds_names(out1).elements())))
            write(os.path.join(tmp, "case.yaml"), dump(meta))
            for g in ("helm", "helm-nondet", "helm-error"):
                shutil.rmtree(os.path.join(self.a.out, g, "cases", case_id), ignore_errors=True)
            dest = os.path.join(self.a.out, group, "cases", case_id)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            os.rename(tmp, dest)
            tmp = None
            return group, meta.get("helm_error", "")
        finally:
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)


def helm_template_cmd(helm, inp, target, args):
    cmd = [helm, "template", args["release"], os.path.join(inp, target)]
    if args.get("namespace"):
        cmd += ["--namespace", args["namespace"]]
    for v in args.get("values") or []:
        cmd += ["--values", os.path.join(inp, v)]
    for key, flag in (("set", "--set"), ("set_string", "--set-string"),
                      ("api_versions", "--api-versions")):
        for v in args.get(key) or []:
            cmd += [flag, v]
    if args.get("kube_version"):
        cmd += ["--kube-version", args["kube_version"]]
    if args.get("include_crds"):
        cmd.append("--include-crds")
    if args.get("skip_tests"):
        cmd.append("--skip-tests")
    return cmd


def kiln_cmd(kiln, inp, target, args, root=None):
    cmd = [kiln, "render", "--no-cache", os.path.join(inp, target)]
    if root:
        cmd += ["--root", root]
    if args.get("release"):
        cmd += ["--release-name", args["release"]]
    if args.get("namespace"):
        cmd += ["--namespace", args["namespace"]]
    for v in args.get("values") or []:
        cmd += ["--values", os.path.join(inp, v)]
    for key, flag in (("set", "--set"), ("set_string", "--set-string"),
                      ("api_versions", "--api-versions")):
        for v in args.get(key) or []:
            cmd += [flag, v]
    if args.get("kube_version"):
        cmd += ["--kube-version", args["kube_version"]]
    if args.get("include_crds"):
        cmd.append("--include-crds")
    if args.get("skip_tests"):
        cmd.append("--skip-tests")
    return cmd


def cmd_build(a):
    corpus = load_corpus(a.corpus)
    b = Builder(a, corpus)
    os.makedirs(a.out, exist_ok=True)
    cases = [c for c in expand_cases(corpus, a.mirror_root, a.only) if matches(a.only, c[1])]
    staged = {}
    failed = []
    for ch, _cid, _v in cases:
        if ch["id"] not in staged:
            try:
                staged[ch["id"]] = b.stage_chart(ch)
            except Exception as e:  # noqa: BLE001
                staged[ch["id"]] = None
                failed.append((ch["id"], str(e)))
                print("FAIL chart %s: %s" % (ch["id"], e), flush=True)
    counts = collections.Counter()

    def one(c):
        ch, cid, v = c
        if not staged.get(ch["id"]):
            return cid, None, "chart not staged"
        try:
            group, err = b.build_case(ch, cid, v, staged[ch["id"]])
            return cid, group, err
        except Exception as e:  # noqa: BLE001
            return cid, None, str(e)

    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        for cid, group, err in ex.map(one, cases):
            if group is None:
                failed.append((cid, err))
                print("FAIL %s: %s" % (cid, err), flush=True)
            else:
                counts[group] += 1
                print("ok   %s (%s)%s" % (cid, group, (": " + err[:150]) if err else ""),
                      flush=True)
    charts = {c[0]["id"] for c in cases}
    print("built %d cases from %d charts: %s" % (sum(counts.values()), len(charts),
                                                 ", ".join("%s %d" % kv for kv in
                                                           sorted(counts.items()))))
    if failed:
        print("%d entries failed" % len(failed))
        return 1
    return 0


# ---------------------------------------------------------------------------
# run


def matches(only, cid):
    """--only: a comma-separated list of substrings; a case matches any of them."""
    return not only or any(part and part in cid for part in only.split(","))


def find_cases(out, only=None):
    found = []
    for group in ("helm", "helm-nondet", "helm-error"):
        d = os.path.join(out, group, "cases")
        if not os.path.isdir(d):
            continue
        for cid in sorted(os.listdir(d)):
            if not matches(only, cid):
                continue
            case_dir = os.path.join(d, cid)
            with open(os.path.join(case_dir, "case.yaml"), encoding="utf-8") as fh:
                found.append((case_dir, yaml.safe_load(fh)))
    return found


def first_diff(want, got):
    """A short description of how two document multisets differ."""
    def ident(doc):
        d = json.loads(doc)
        if not isinstance(d, dict):
            return "<non-map>"
        md = d.get("metadata") or {}
        return "%s/%s" % (d.get("kind"), md.get("name") if isinstance(md, dict) else "?")
    missing = sorted((want - got).elements())
    extra = sorted((got - want).elements())
    wi = collections.Counter(ident(d) for d in missing)
    gi = collections.Counter(ident(d) for d in extra)
    changed = sorted((wi & gi).elements())
    only_w = sorted((wi - gi).elements())
    only_g = sorted((gi - wi).elements())
    parts = []
    if changed:
        parts.append("differs: %s" % ", ".join(changed[:4]))
    if only_w:
        parts.append("missing: %s" % ", ".join(only_w[:4]))
    if only_g:
        parts.append("extra: %s" % ", ".join(only_g[:4]))
    return "; ".join(parts)


def check_case(kiln, case_dir, meta, timeout):
    inp = os.path.join(case_dir, "input")
    cmd = kiln_cmd(kiln, inp, meta["target"], meta["args"])
    rc, out, err, secs = run_cmd(cmd, cwd=case_dir, timeout=timeout)
    res = {"id": meta["id"], "repo": meta.get("repo"), "chart": meta.get("chart"),
           "group": meta["group"], "seconds": round(secs, 3)}
    if meta["expect"] == "error":
        if rc != 0:
            res["status"] = "pass"
        else:
            res.update(status="fail", reason="helm fails (%s), kiln succeeds"
                       % meta.get("helm_error", "")[:300])
        return res
    if rc != 0:
        res.update(status="fail", reason="kiln error: " + last_error_line(err)[:600],
                   stderr=err[-3000:])
        return res
    with open(os.path.join(case_dir, "expected.yaml"), encoding="utf-8") as fh:
        expected = fh.read()
    if meta.get("compare") == "kinds-names":
        try:
            got = kinds_names(out)
        except yaml.YAMLError as e:
            res.update(status="fail", reason="kiln output is not YAML: %s" % str(e)[:200])
            return res
        want = kinds_names(expected)
        if got == want:
            res["status"] = "pass"
        else:
            res.update(status="fail", reason="resources differ: missing %s; extra %s" % (
                sorted((want - got).elements())[:4], sorted((got - want).elements())[:4]))
        return res
    if meta.get("compare") == "text":
        res["status"] = "pass" if out == expected else "fail"
        if out != expected:
            res["reason"] = "output differs (text comparison)"
        return res
    want = canon_docs(expected)
    got = canon_docs(out)
    if got is None:
        res.update(status="fail", reason="kiln output is not YAML PyYAML reads")
    elif got == want:
        res["status"] = "pass"
    else:
        res.update(status="fail", reason="output differs: " + first_diff(want, got))
    return res


def error_class(reason):
    """The failure reason with paths, names and numbers blurred, to group cases."""
    r = re.sub(r"/[^\s:\"']+", "<path>", reason)
    r = re.sub(r"\b\d+\b", "N", r)
    r = re.sub(r"(differs|missing|extra): .*", r"\1: ...", r)
    return r[:220]


def cmd_run(a):
    cases = find_cases(a.out, a.only)
    results = []
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        futs = [ex.submit(check_case, a.kiln, d, m, a.timeout) for d, m in cases]
        for f in futs:
            r = f.result()
            results.append(r)
            if r["status"] != "pass":
                print("FAIL %s: %s" % (r["id"], r["reason"][:400]), flush=True)
    per_repo = collections.defaultdict(collections.Counter)
    per_chart = collections.defaultdict(collections.Counter)
    per_group = collections.defaultdict(collections.Counter)
    classes = collections.defaultdict(list)
    for r in results:
        per_repo[r["repo"]][r["status"]] += 1
        per_chart[r["chart"]][r["status"]] += 1
        per_group[r["group"]][r["status"]] += 1
        if r["status"] != "pass":
            classes[error_class(r["reason"])].append(r["id"])
    print("\n%-45s %6s %6s" % ("repository", "pass", "total"))
    for k in sorted(per_repo, key=str):
        c = per_repo[k]
        print("%-45s %6d %6d" % (k, c["pass"], sum(c.values())))
    print("\n%-45s %6s %6s" % ("chart", "pass", "total"))
    for k in sorted(per_chart, key=str):
        c = per_chart[k]
        print("%-45s %6d %6d" % (k, c["pass"], sum(c.values())))
    print("\n%-45s %6s %6s" % ("group", "pass", "total"))
    for k in sorted(per_group):
        c = per_group[k]
        print("%-45s %6d %6d" % (k, c["pass"], sum(c.values())))
    print("\nfailure classes (by blurred reason):")
    for k, ids in sorted(classes.items(), key=lambda kv: -len(kv[1])):
        print("%4d  %s\n      e.g. %s" % (len(ids), k, ", ".join(ids[:4])))
    passed = sum(1 for r in results if r["status"] == "pass")
    print("\n%d passed, %d failed (%d cases, %d charts)" % (
        passed, len(results) - passed, len(results), len(per_chart)))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump({"results": results}, fh, indent=1)
    return 0


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return 0.0
    k = (len(xs) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def cmd_bench(a):
    """Whole-process time of kiln render --no-cache and helm template, side by side."""
    passing = None
    if a.results:
        with open(a.results, encoding="utf-8") as fh:
            passing = {r["id"] for r in json.load(fh)["results"] if r["status"] == "pass"}
    rows = []
    for case_dir, meta in find_cases(a.out, a.only):
        if meta["expect"] != "output" or (passing is not None and meta["id"] not in passing):
            continue
        inp = os.path.join(case_dir, "input")
        kcmd = kiln_cmd(a.kiln, inp, meta["target"], meta["args"])
        hcmd = helm_template_cmd(a.helm, inp, meta["target"], meta["args"])
        kt, ht = [], []
        for _ in range(a.runs):  # interleaved, so load changes hit both alike
            rc, _o, _e, t = run_cmd(hcmd, cwd=case_dir)
            ht.append(t if rc == 0 else float("nan"))
            rc, _o, _e, t = run_cmd(kcmd, cwd=case_dir)
            kt.append(t if rc == 0 else float("nan"))
        k, h = sorted(kt)[len(kt) // 2], sorted(ht)[len(ht) // 2]
        rows.append({"id": meta["id"], "chart": meta.get("chart"), "kiln": k, "helm": h})
        print("%-70s kiln %7.3fs  helm %7.3fs  %5.1fx" % (meta["id"], k, h, h / k), flush=True)
    rows = [r for r in rows if r["kiln"] == r["kiln"] and r["helm"] == r["helm"]]
    if not rows:
        print("no cases")
        return 1
    ks, hs = [r["kiln"] for r in rows], [r["helm"] for r in rows]
    ratios = [r["helm"] / r["kiln"] for r in rows]
    geo = 1.0
    for x in ratios:
        geo *= x ** (1.0 / len(ratios))
    print("\n%d cases (median of %d runs each)" % (len(rows), a.runs))
    print("%-8s %9s %9s %9s" % ("", "sum", "median", "p90"))
    print("%-8s %8.2fs %8.3fs %8.3fs" % ("kiln", sum(ks), percentile(ks, 0.5), percentile(ks, 0.9)))
    print("%-8s %8.2fs %8.3fs %8.3fs" % ("helm", sum(hs), percentile(hs, 0.5), percentile(hs, 0.9)))
    print("speed-up helm/kiln: total %.2fx, geomean %.2fx, median %.2fx; kiln slower on %d cases"
          % (sum(hs) / sum(ks), geo, percentile(ratios, 0.5), sum(1 for x in ratios if x < 1)))
    print("slowest for kiln:")
    for r in sorted(rows, key=lambda r: -r["kiln"])[:8]:
        print("  %-68s kiln %.3fs helm %.3fs" % (r["id"], r["kiln"], r["helm"]))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump({"runs": a.runs, "rows": rows}, fh, indent=1)
    return 0


def cmd_list(a):
    corpus = load_corpus(a.corpus)
    cases = expand_cases(corpus, a.mirror_root)
    for _ch, cid, _v in cases:
        print(cid)
    print("%d cases from %d charts" % (len(cases), len({c[0]["id"] for c in cases})),
          file=sys.stderr)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("build", "run", "list", "bench"):
        p = sub.add_parser(name)
        p.add_argument("--corpus", default=DEFAULT_CORPUS)
        p.add_argument("--only", default=None, help="only cases whose id contains one of these (comma-separated)")
        p.add_argument("--jobs", "-j", type=int, default=2)
        if name in ("build", "list"):
            p.add_argument("--mirror-root", required=(name == "build"),
                           help="holds OWNER+NAME/repo bare git mirrors")
        if name in ("build", "run", "bench"):
            p.add_argument("--out", required=True, help="the corpus directory")
        if name in ("build", "bench"):
            p.add_argument("--helm", default=os.environ.get("KILN_RW_HELM",
                                                            os.path.join(ORACLES, "helm")))
        if name in ("run", "bench"):
            p.add_argument("--kiln", required=True)
            p.add_argument("--json", default=None, help="write per-case results here")
        if name == "run":
            p.add_argument("--timeout", type=float, default=120.0)
        if name == "bench":
            p.add_argument("--results", default=None,
                           help="a `run --json` file: time only the cases that passed there")
            p.add_argument("--runs", type=int, default=3, help="runs of each tool per case")
    a = ap.parse_args()
    if getattr(a, "out", None):
        a.out = os.path.abspath(a.out)
    return {"build": cmd_build, "run": cmd_run, "list": cmd_list, "bench": cmd_bench}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
