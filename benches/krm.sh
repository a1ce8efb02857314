#!/usr/bin/env bash
# The catalog's set-namespace KRM function on 1,000 resources: its wasip1
# build run by kiln vs its native Go build, with hyperfine. Builds the
# functions (tests/krm/build.sh, cached) and kiln in release mode first.
#
#   benches/krm.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/kiln.sh  # $kiln: KILN=path/to/kiln, else a release build
runs=${1:-20}
functions=$(tests/krm/build.sh | tail -n 1)
fn_dir=$(ls -d "$functions"/set-namespace@* | tail -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export KILN_CACHE_DIR=$work/cache
mkdir -p "$work/.git" "$work/app" "$work/plain"

# 1,000 resources: Deployments, Services and ConfigMaps in turn.
python3 - "$work" <<'PY'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
docs = []
for i in range(1000):
    name = f"app-{i:04d}"
    if i % 3 == 0:
        docs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": name, "namespace": "old", "labels": {"app": name}},
                     "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                              "template": {"metadata": {"labels": {"app": name}},
                                           "spec": {"containers": [{"name": "main", "image": "nginx:1.27",
                                                                    "ports": [{"containerPort": 80}]}]}}}})
    elif i % 3 == 1:
        docs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": name, "namespace": "old"},
                     "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 80}]}})
    else:
        docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": name, "namespace": "old"},
                     "data": {"key": "value", "index": str(i)}})
text = "---\n".join(json.dumps(d) + "\n" for d in docs)
for d in ("app", "plain"):
    (work / d / "resources.yaml").write_text(text)
(work / "app" / "kiln.yaml").write_text(
    "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n"
    "- name: namespace\n  plugin: ./set-namespace.wasm\n  with: {namespace: prod}\n")
(work / "plain" / "kiln.yaml").write_text(
    "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n")
items = []
for i, d in enumerate(docs):
    d["metadata"].setdefault("annotations", {})["config.kubernetes.io/index"] = str(i)
    d["metadata"]["annotations"]["internal.config.kubernetes.io/index"] = str(i)
    items.append(d)
rl = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": items,
      "functionConfig": {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "function-input"}, "data": {"namespace": "prod"}}}
(work / "resource-list.json").write_text(json.dumps(rl, separators=(",", ":")))
PY
cp "$fn_dir/fn.wasm" "$work/app/set-namespace.wasm"
cd "$work"
# Compile the function once (the compiled-component cache), then time renders
# that run it (--no-cache: no render-cache hit).
"$kiln" render --no-cache app | grep -c '^  namespace: prod$'
"$kiln" render --no-cache plain >/dev/null
sleep 2.1  # stamps younger than two seconds are not trusted (host/src/stamp.rs)
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/krm.json" \
  -n "native set-namespace (ResourceList on stdin)" "sh -c '$fn_dir/fn < resource-list.json > /dev/null'" \
  -n "kiln: directory + set-namespace.wasm" "$kiln render --no-cache app" \
  -n "kiln: directory alone" "$kiln render --no-cache plain"
python3 - "$work/krm.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
native, full, plain = (r[k] for k in r)
print(f"native {native*1000:.1f} ms; kiln with the function {full*1000:.1f} ms; kiln without it {plain*1000:.1f} ms")
print(f"the function's step in kiln: {(full-plain)*1000:.1f} ms = {(full-plain)/native:.2f}x native; whole render {full/native:.2f}x native")
PY
