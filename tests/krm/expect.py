#!/usr/bin/env python3
"""Regenerates the expected outputs of the KRM function cases from the
functions' NATIVE builds (tests/krm/build.sh builds both).

Each case is a directory tests/krm/cases/<function>/<case>/ holding
`input.yaml` (the resources the step gets) and `with.yaml` (the step's
`with:`). For each, this script

1. makes the ResourceList kiln sends: the resources as kiln's `directory`
   step reads them (`kiln render` of a directory holding `input.yaml`), each
   annotated with its position (`config.kubernetes.io/index` and
   `internal.config.kubernetes.io/index`), and `with:` as `functionConfig`
   (as it is when it has `apiVersion` and `kind`, else a ConfigMap
   `function-input` whose `data` holds its values as text);
2. runs the native function on it;
3. writes `expected.yaml`: the output items without the bookkeeping
   annotations, printed by `kiln render` of a directory holding them (kiln
   prints, the native function decides the content); or, when the function
   fails or reports an `error` result, `expected-errors.txt`: the message of
   each error result, one a line.

Usage: tests/krm/expect.py [--kiln PATH] [--functions DIR]
(--functions defaults to the last line printed by tests/krm/build.sh).
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import yaml

HERE = pathlib.Path(__file__).resolve().parent
BOOKKEEPING = {
    "config.kubernetes.io/index",
    "config.kubernetes.io/path",
    "config.k8s.io/id",
}
INTERNAL = "internal.config.kubernetes.io/"


def kiln_render(kiln, docs):
    """kiln's rendering of `docs` (a list of JSON objects) as plain manifests."""
    with tempfile.TemporaryDirectory() as tmp:
        app = pathlib.Path(tmp) / "app"
        app.mkdir()
        (pathlib.Path(tmp) / ".git").mkdir()
        text = "\n---\n".join(json.dumps(d) for d in docs) + "\n"
        (app / "resources.yaml").write_text(text)
        env = dict(os.environ, KILN_CACHE_DIR=str(pathlib.Path(tmp) / "cache"))
        out = subprocess.run(
            [kiln, "render", "app", "--no-cache"],
            cwd=tmp, env=env, check=True, capture_output=True, text=True,
        )
        return out.stdout


def function_config(with_):
    if not with_:
        return None
    if "apiVersion" in with_ and "kind" in with_:
        return with_
    data = {}
    for key, value in with_.items():
        if isinstance(value, bool):
            data[key] = "true" if value else "false"
        elif value is None:
            data[key] = ""
        elif isinstance(value, (list, dict)):
            sys.exit(f"with.{key}: nested values cannot go into a ConfigMap")
        else:
            data[key] = str(value)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "function-input"},
        "data": data,
    }


def strip(item):
    annotations = (item.get("metadata") or {}).get("annotations")
    if not isinstance(annotations, dict):
        return item
    before = len(annotations)
    for key in list(annotations):
        if key in BOOKKEEPING or key.startswith(INTERNAL):
            del annotations[key]
    if before and not annotations:
        del item["metadata"]["annotations"]
    return item


def run_case(kiln, functions, function, case):
    resources = list(yaml.safe_load_all(kiln_render(kiln, list(yaml.safe_load_all((case / "input.yaml").read_text())))))
    with_ = yaml.safe_load((case / "with.yaml").read_text()) or {}
    items = []
    for index, item in enumerate(resources):
        meta = item.setdefault("metadata", {})
        annotations = meta.setdefault("annotations", {})
        annotations["config.kubernetes.io/index"] = str(index)
        annotations["internal.config.kubernetes.io/index"] = str(index)
        items.append(item)
    rl = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": items}
    config = function_config(with_)
    if config is not None:
        rl["functionConfig"] = config
    native = functions / function / "fn"
    proc = subprocess.run(
        [str(native)], input=json.dumps(rl, separators=(",", ":")),
        capture_output=True, text=True,
    )
    out = yaml.safe_load(proc.stdout) if proc.stdout.strip() else {}
    results, default = out.get("results") or [], "error"
    if isinstance(results, dict):  # kyaml before v0.11: {name, items}
        results, default = results.get("items") or [], "info"
    errors = [r.get("message", "") for r in results if (r.get("severity") or default) == "error"]
    for stale in ("expected.yaml", "expected-errors.txt"):
        (case / stale).unlink(missing_ok=True)
    if proc.returncode != 0 or errors:
        if not errors:
            sys.exit(f"{case}: the function failed without an error result: {proc.stderr}")
        (case / "expected-errors.txt").write_text("".join(e + "\n" for e in errors))
        return "errors"
    docs = [strip(i) for i in out.get("items") or []]
    (case / "expected.yaml").write_text(kiln_render(kiln, docs))
    return "ok"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", default=None, help="the kiln binary")
    parser.add_argument("--functions", default=None, help="the build directory of build.sh")
    args = parser.parse_args()
    kiln = args.kiln or str(pathlib.Path(os.environ.get("CARGO_TARGET_DIR", HERE.parent.parent / "target")) / "debug" / "kiln")
    functions = args.functions
    if functions is None:
        built = subprocess.run([str(HERE / "build.sh")], check=True, capture_output=True, text=True)
        functions = built.stdout.strip().splitlines()[-1]
    functions = pathlib.Path(functions)
    for fdir in sorted((HERE / "cases").iterdir()):
        function = next(p.name for p in functions.iterdir() if p.name.split("@")[0] == fdir.name)
        for case in sorted(p for p in fdir.iterdir() if p.is_dir()):
            print(f"{fdir.name}/{case.name}: {run_case(kiln, functions, function, case)}")


if __name__ == "__main__":
    main()
