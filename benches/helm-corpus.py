#!/usr/bin/env python3
"""Whole-process speed of kiln against helm on the real-world Helm corpus.

For every case of a corpus built by `tests/realworld/helm_corpus.py build`
(optionally only those that passed in a `helm_corpus.py run --json` file),
times, interleaved so that a change of load hits all alike:

- `helm template` with the case's flags,
- `kiln render --no-cache` with the same flags (the helm plugin runs),
- `kiln render` served by its render cache (filled by one run first, in a
  scratch cache directory).

Each figure is the median of `--runs` runs, as wall-clock time and as CPU
time (user + system, which a loaded machine distorts least). Prints the sums, the per-case
median and p90, the speed-up of kiln over helm (total and geometric mean of
the per-case ratios), the cases where kiln is slower, and the slowest cases;
`--json` keeps every row.

    python3 benches/helm-corpus.py --out CORPUS --kiln target/release/kiln \\
        [--results results.json] [--runs 3] [--only TEXT] [--every N] [--json bench.json]
        [--baseline OTHER_KILN]

`--baseline` times a second kiln binary (`--no-cache`) in the same
interleaving, so that two builds are compared side by side in one run.

Build kiln with `--release` and run it on an otherwise idle machine.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "realworld"))

import helm_corpus as hc  # noqa: E402  (beside the corpus tools, not a package)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def timed(cmd, cwd, env=None, timeout=300):
    """(wall seconds, CPU seconds: user + system of the process and its
    children) of one run, or NaNs when it failed. CPU time is what a loaded
    machine distorts least."""
    nan = (float("nan"), float("nan"))
    t0 = time.monotonic()
    try:
        p = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return nan
    deadline = t0 + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            p.wait()
            return nan
        time.sleep(0.002)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        return nan
    return wall, usage.ru_utime + usage.ru_stime


def summary(name, xs):
    return "%-16s %9.2fs %9.3fs %9.3fs" % (
        name, sum(xs), hc.percentile(xs, 0.5), hc.percentile(xs, 0.9))


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="the corpus directory")
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--helm", default=os.environ.get(
        "KILN_RW_HELM", os.path.expanduser("~/.cache/kiln-oracles/bin/helm")))
    ap.add_argument("--results", default=None,
                    help="a `helm_corpus.py run --json` file: only its passing cases")
    ap.add_argument("--only", default=None, help="only cases whose id contains this")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--every", type=int, default=1,
                    help="only every Nth case (in id order), for a quicker sample")
    ap.add_argument("--json", default=None, help="write every row here")
    ap.add_argument("--baseline", default=None,
                    help="another kiln binary (say, the last release) timed with --no-cache "
                         "in the same interleaving, to compare two builds side by side")
    a = ap.parse_args()

    passing = None
    if a.results:
        with open(a.results, encoding="utf-8") as fh:
            passing = {r["id"] for r in json.load(fh)["results"] if r["status"] == "pass"}
    kiln = os.path.abspath(a.kiln)
    base = os.path.abspath(a.baseline) if a.baseline else None
    cache = tempfile.mkdtemp(prefix="kiln-bench-cache-")
    rows = []
    try:
        cases = [(d, m) for d, m in hc.find_cases(a.out, a.only)
                 if m["expect"] == "output" and (passing is None or m["id"] in passing)]
        for case_dir, meta in cases[::max(a.every, 1)]:
            inp = os.path.join(case_dir, "input")
            nocache = hc.kiln_cmd(kiln, inp, meta["target"], meta["args"])
            cached = [x for x in nocache if x != "--no-cache"]
            helm = hc.helm_template_cmd(a.helm, inp, meta["target"], meta["args"])
            env = {"KILN_CACHE_DIR": cache}
            timed(cached, case_dir, env)  # fills the cache (and compiles the plugin once)
            runs = {"helm": [], "kiln": [], "cached": []}
            if base:
                baseline = [base] + nocache[1:]
                timed(baseline, case_dir, env)  # compiles its plugin once
                runs["baseline"] = []
            for _ in range(a.runs):
                runs["helm"].append(timed(helm, case_dir))
                runs["kiln"].append(timed(nocache, case_dir, env))
                runs["cached"].append(timed(cached, case_dir, env))
                if base:
                    runs["baseline"].append(timed(baseline, case_dir, env))
            row = {"id": meta["id"], "chart": meta.get("chart")}
            for tool, ts in runs.items():
                row[tool] = median([t[0] for t in ts])
                row[tool + "_cpu"] = median([t[1] for t in ts])
            rows.append(row)
            print("%-58s helm %6.3fs/%6.3fs  kiln %6.3fs/%6.3fs  cached %6.3fs/%6.3fs" % (
                row["id"], row["helm"], row["helm_cpu"], row["kiln"], row["kiln_cpu"],
                row["cached"], row["cached_cpu"]), flush=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    ok = [r for r in rows if not any(math.isnan(v) for v in r.values() if isinstance(v, float))]
    if not ok:
        print("no cases")
        return 1
    print("\n%d cases of %d charts (median of %d runs each; %d left out: a run failed)" % (
        len(ok), len({r["chart"] for r in ok}), a.runs, len(rows) - len(ok)))
    for unit, sfx in (("wall clock", ""), ("CPU (user + system)", "_cpu")):
        hs = [r["helm" + sfx] for r in ok]
        ks = [r["kiln" + sfx] for r in ok]
        cs = [r["cached" + sfx] for r in ok]
        ratios = [h / k for h, k in zip(hs, ks)]
        print("\n%s%s %10s %10s %10s" % (unit, " " * (16 - len(unit)), "sum", "median", "p90"))
        print(summary("helm template", hs))
        print(summary("kiln --no-cache", ks))
        print(summary("kiln cached", cs))
        print("kiln --no-cache over helm: total %.2fx, geomean %.2fx; kiln slower on %d cases"
              % (sum(hs) / sum(ks), geomean(ratios), sum(1 for x in ratios if x < 1)))
        print("kiln cached over helm: total %.2fx, geomean %.2fx"
              % (sum(hs) / sum(cs), geomean([h / c for h, c in zip(hs, cs)])))
        if base:
            bs = [r["baseline" + sfx] for r in ok]
            print(summary("baseline --no-cache", bs))
            print("baseline --no-cache over helm: total %.2fx, geomean %.2fx; "
                  "kiln over baseline: total %.2fx, geomean %.2fx"
                  % (sum(hs) / sum(bs), geomean([h / b for h, b in zip(hs, bs)]),
                     sum(bs) / sum(ks), geomean([b / k for b, k in zip(bs, ks)])))
    slower = sorted((r for r in ok if r["helm"] < r["kiln"]), key=lambda r: r["helm"] / r["kiln"])
    if slower:
        print("\nkiln slower than helm (wall clock):")
        for r in slower:
            print("  %-62s kiln %.3fs helm %.3fs" % (r["id"], r["kiln"], r["helm"]))
    print("\nslowest for kiln (wall clock):")
    for r in sorted(ok, key=lambda r: -r["kiln"])[:8]:
        print("  %-62s kiln %.3fs helm %.3fs" % (r["id"], r["kiln"], r["helm"]))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump({"runs": a.runs, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
