#!/usr/bin/env python3
"""A wider real-world kustomize corpus, built locally and compared with kiln.

  kustomize_corpus.py build   --mirror-root DIR --out DIR [--corpus FILE] [--only REPO]
  kustomize_corpus.py compare --out DIR --kiln BIN [--only REPO] [--filter TEXT] [-v]

`build` reads the corpus file (repositories pinned by commit, the folders to
search, the paths to leave out), writes each repository's tree at its commit
to OUT/src/OWNER+NAME/ (from a bare git mirror at MIRROR_ROOT/OWNER+NAME/repo;
blobs missing from a partial mirror are skipped), finds every directory that
holds a kustomization file, and builds each one with the oracle,
`kubectl kustomize` (kustomize v5.7.1). The result is a case under
OUT/cases/ID/: case.yaml, and expected.yaml or expected-error.txt (the
oracle's last error line). Builds that need the network (remote bases, Helm
charts) are recorded as skipped.

`compare` runs `kiln render` on every case from the repository's root (so
bases elsewhere in the repository are inside the source root), compares the
documents as the conformance runner does (a multiset of parsed documents),
and prints the pass rate per repository; a case the oracle fails passes when
kiln fails too. Failures, with a diff, go to OUT/report.txt.

Oracle: KILN_KUBECTL, else ~/.cache/kiln-oracles/bin/kubectl. Needs PyYAML.
Nothing built here is committed: the corpus holds other projects' files.
"""

import argparse
import collections
import concurrent.futures
import difflib
import json
import os
import shutil
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# an oracle failure with one of these needs the network or an exec plugin: not a case
NETWORK = ("exit status 128", "git cloning", "no such host", "dial tcp", "?ref=", "github.com/",
           "must specify --enable-helm", "exec plugin", "https://", "http://")


def oracle():
    return os.environ.get("KILN_KUBECTL") or os.path.expanduser(
        "~/.cache/kiln-oracles/bin/kubectl")


def git_dir(mirror_root, repo):
    base = os.path.join(mirror_root, repo.replace("/", "+"), "repo")
    return os.path.join(base, ".git") if os.path.isdir(os.path.join(base, ".git")) else base


def extract(gd, commit, dest):
    """Writes every blob of the commit's tree below dest; skips missing blobs."""
    out = subprocess.run(["git", "--git-dir", gd, "ls-tree", "-r", "-z", "--full-tree", commit],
                         check=True, capture_output=True).stdout
    rows = []
    for ent in out.split(b"\0"):
        if ent:
            meta, path = ent.split(b"\t", 1)
            mode, typ, sha = meta.decode().split()
            if typ == "blob":
                rows.append((mode, sha, path.decode("utf-8", "replace")))
    p = subprocess.Popen(["git", "--git-dir", gd, "cat-file", "--batch"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    for mode, sha, path in rows:
        p.stdin.write((sha + "\n").encode())
        p.stdin.flush()
        hdr = p.stdout.readline().decode().split()
        if len(hdr) < 3 or hdr[1] == "missing":
            continue
        data = p.stdout.read(int(hdr[2]))
        p.stdout.read(1)
        full = os.path.join(dest, path)
        if not os.path.abspath(full).startswith(os.path.abspath(dest) + os.sep):
            continue
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if os.path.lexists(full):
            os.remove(full)
        if mode == "120000":
            os.symlink(data.decode("utf-8", "replace"), full)
        else:
            with open(full, "wb") as fh:
                fh.write(data)
    p.stdin.close()
    p.wait()


def kustomization_dirs(src, include, exclude):
    found = []
    for dp, dn, fn in os.walk(src):
        dn[:] = sorted(d for d in dn if d != ".git")
        rel = os.path.relpath(dp, src)
        rel = "" if rel == "." else rel
        if include and not any(rel == i or rel.startswith(i.rstrip("/") + "/") for i in include):
            continue
        if any(rel == e or rel.startswith(e.rstrip("/") + "/") for e in exclude):
            continue
        if any(n in fn for n in NAMES):
            found.append(rel or ".")
    return found


def case_id(repo, rel, shared=()):
    """The repository's name, with its owner when another repository has the same name."""
    short = repo.split("/")[1]
    if short in shared:
        short = repo.replace("/", "+")
    return "%s--%s" % (short, rel.replace("/", "-") if rel != "." else "root")


def last_error_line(err):
    lines = [l for l in err.strip().splitlines() if not l.startswith("# Warning")]
    return " ".join(lines)[:400]


def build_one(src, rel, case_dir, meta):
    p = subprocess.run([oracle(), "kustomize", os.path.join(src, rel)], capture_output=True,
                       timeout=120, cwd=src)
    os.makedirs(case_dir, exist_ok=True)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode == 0:
        meta["expect"] = "output"
        with open(os.path.join(case_dir, "expected.yaml"), "wb") as fh:
            fh.write(p.stdout)
    else:
        line = last_error_line(err).replace(src + "/", "")
        meta["expect"] = "skip" if any(n in err for n in NETWORK) else "error"
        meta["oracle_error"] = line
    with open(os.path.join(case_dir, "case.yaml"), "w", encoding="utf-8") as fh:
        yaml.safe_dump(meta, fh, sort_keys=False)
    return meta


def cmd_build(args):
    with open(args.corpus, encoding="utf-8") as fh:
        corpus = yaml.safe_load(fh)
    jobs = []
    names = collections.Counter(r.split("/")[1] for r in corpus["repos"])
    shared = {n for n, k in names.items() if k > 1}
    for repo, spec in corpus["repos"].items():
        if args.only and not any(o in repo for o in args.only.split(",")):
            continue
        src = os.path.join(args.out, "src", repo.replace("/", "+"))
        shutil.rmtree(src, ignore_errors=True)
        extract(git_dir(args.mirror_root, repo), spec["commit"], src)
        for rel in kustomization_dirs(src, spec.get("include") or [], spec.get("exclude") or []):
            cid = case_id(repo, rel, shared)
            case_dir = os.path.join(args.out, "cases", cid)
            shutil.rmtree(case_dir, ignore_errors=True)
            jobs.append((src, rel, case_dir, {"id": cid, "repo": repo, "commit": spec["commit"],
                                              "target": rel}))
    counts = collections.Counter()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for meta in pool.map(lambda j: build_one(*j), jobs):
            counts[(meta["repo"], meta["expect"])] += 1
    for (repo, expect), n in sorted(counts.items()):
        print("%-45s %-7s %d" % (repo, expect, n))


class Loader(yaml.SafeLoader):
    """SafeLoader that reads a plain `=` as the string it is (YAML 1.1's value tag)."""


Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def normalize(text):
    docs = collections.Counter()
    for d in yaml.load_all(text, Loader=Loader):
        if d is None or d == {} or d == [] or d == "":
            continue
        docs[json.dumps(d, sort_keys=True, default=str, ensure_ascii=False)] += 1
    return docs


def pretty(counter):
    return "".join("---\n" + yaml.safe_dump(json.loads(c), sort_keys=True, width=1000)
                   for c in sorted(counter.elements()))


def compare_one(args, case_dir, meta):
    src = os.path.join(args.out, "src", meta["repo"].replace("/", "+"))
    cmd = [args.kiln, "render", os.path.join(src, meta["target"])]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=120, cwd=src)
    except subprocess.TimeoutExpired:
        return "fail", "timeout", None
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if meta["expect"] == "error":
        if p.returncode == 0:
            return "fail", "oracle fails (%s), kiln succeeds" % meta.get("oracle_error"), None
        return "pass", None, None
    if p.returncode != 0:
        return "fail", "kiln fails: %s" % last_error_line(err)[:300], None
    try:
        with open(os.path.join(case_dir, "expected.yaml"), encoding="utf-8") as fh:
            want = normalize(fh.read())
    except yaml.YAMLError as e:
        return "fail", "expected output is not readable YAML: %s" % str(e).splitlines()[0], None
    try:
        got = normalize(out)
    except yaml.YAMLError as e:
        return "fail", "output is not YAML: %s" % str(e).splitlines()[0], None
    if got == want:
        return "pass", None, None
    diff = "".join(difflib.unified_diff(pretty(want).splitlines(True),
                                        pretty(got).splitlines(True), "kustomize", "kiln"))
    return "fail", "output differs (%d unmatched, %d unexpected)" % (
        sum((want - got).values()), sum((got - want).values())), diff


def cmd_compare(args):
    cases = []
    root = os.path.join(args.out, "cases")
    for cid in sorted(os.listdir(root)):
        with open(os.path.join(root, cid, "case.yaml"), encoding="utf-8") as fh:
            meta = yaml.safe_load(fh)
        if meta["expect"] == "skip":
            continue
        if args.only and not any(o in meta["repo"] for o in args.only.split(",")):
            continue
        if args.filter and args.filter not in cid:
            continue
        cases.append((os.path.join(root, cid), meta))
    per = collections.defaultdict(lambda: [0, 0])
    report = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = pool.map(lambda c: compare_one(args, *c), cases)
        for (case_dir, meta), (status, reason, diff) in zip(cases, results):
            per[meta["repo"]][1] += 1
            if status == "pass":
                per[meta["repo"]][0] += 1
                continue
            report.append("FAIL %s: %s\n%s" % (meta["id"], reason, diff or ""))
            if args.verbose:
                print("FAIL %s: %s" % (meta["id"], reason))
    total = [0, 0]
    for repo in sorted(per):
        ok, n = per[repo]
        total[0] += ok
        total[1] += n
        print("%-45s %4d/%-4d %5.1f%%" % (repo, ok, n, 100.0 * ok / n))
    print("%-45s %4d/%-4d %5.1f%% (%d repositories)" % (
        "total", total[0], total[1], 100.0 * total[0] / max(total[1], 1), len(per)))
    with open(os.path.join(args.out, "report.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(report))
    return 0 if total[0] == total[1] else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--mirror-root", required=True)
    b.add_argument("--corpus", default=os.path.join(HERE, "kustomize-corpus.yaml"))
    c = sub.add_parser("compare")
    c.add_argument("--kiln", required=True)
    c.add_argument("--filter")
    c.add_argument("-v", "--verbose", action="store_true")
    for p in (b, c):
        p.add_argument("--out", required=True)
        p.add_argument("--only", help="comma-separated substrings of repository names")
        p.add_argument("-j", "--jobs", type=int, default=2)
    args = ap.parse_args()
    args.out = os.path.abspath(args.out)
    if args.cmd == "build":
        return cmd_build(args)
    args.kiln = os.path.abspath(args.kiln)
    return cmd_compare(args)


if __name__ == "__main__":
    sys.exit(main())
