#!/usr/bin/env bash
# Benchmarks `kiln render --all` on a generated monorepo against a loop of
# `kubectl kustomize` over the same apps, with hyperfine:
#   1. cold: render cache emptied before each run (compiled plugins kept)
#   2. re-render with no change
#   3. re-render with one app changed
#   4. peak memory of a cold and a warm run (/usr/bin/time -v)
#
# Usage: benches/monorepo.sh [APPS=1000]
# Env:   KILN=path/to/kiln (default: a release build)
#        KILN_BENCH_MODE=overlay|directory (default overlay: no kiln.yaml, so
#        kiln detects each kustomization and runs the overlay plugin, as
#        kubectl kustomize builds it; directory: each app also has a kiln.yaml
#        running the directory plugin)
#        RUNS=N hyperfine runs per command (default 5; the quick sections run
#        6N after a warm-up)
#        SECTIONS="cold unchanged changed memory" (default: all four)
set -euo pipefail
apps=${1:-1000}
runs=${RUNS:-5}
sections=" ${SECTIONS:-cold unchanged changed memory} "
quick=$((runs * 6))
mode=${KILN_BENCH_MODE:-overlay}
source "$(dirname "$0")/kiln.sh"  # $kiln: KILN=path/to/kiln, else a release build
for tool in hyperfine kubectl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed (apt-get install hyperfine time kubectl)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo=$work/repo
export KILN_CACHE_DIR=$work/cache
export KILN_NO_PROGRESS=true

echo "generating $apps apps ($mode) in $repo" >&2
mkdir -p "$repo/apps"
git -C "$repo" init -q
for i in $(seq -w 1 "$apps"); do
  d=$repo/apps/app-$i
  mkdir -p "$d"
  cat > "$d/deployment.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-$i
  labels: {app: app-$i}
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-$i}
  template:
    metadata:
      labels: {app: app-$i}
    spec:
      containers:
      - name: main
        image: registry.example/app-$i:1.0.0
        ports:
        - containerPort: 8080
YAML
  cat > "$d/service.yaml" <<YAML
apiVersion: v1
kind: Service
metadata:
  name: app-$i
spec:
  selector: {app: app-$i}
  ports:
  - port: 80
    targetPort: 8080
YAML
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n- service.yaml\n' > "$d/kustomization.yaml"
  if [ "$mode" = directory ]; then
    printf 'apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n' > "$d/kiln.yaml"
  fi
done
ids=($(seq -w 1 "$apps"))  # an array, not `seq | head`: with pipefail, seq may die of SIGPIPE
first=$repo/apps/app-${ids[0]}

render="$kiln render --all $repo/apps -j $(nproc) > /dev/null"
kustomize="for d in $repo/apps/*/; do kubectl kustomize \$d; done > /dev/null"
# The first run compiles the plugins into the cache; not measured.
eval "$render"

if [[ $sections == *" cold "* ]]; then
  echo "== cold (render cache emptied before each run) vs kubectl kustomize loop" >&2
  hyperfine --runs "$runs" --style basic \
    --prepare "rm -rf $KILN_CACHE_DIR/steps-v0" -n "kiln render --all (cold)" "$render" \
    --prepare true -n "kubectl kustomize loop" "$kustomize"
fi

eval "$render"
sleep 2  # stamps younger than two seconds are not trusted (see host/src/stamp.rs)
eval "$render"
if [[ $sections == *" unchanged "* ]]; then
  echo "== re-render, nothing changed (goal: 50 ms)" >&2
  hyperfine --warmup 3 --runs "$quick" --style basic -n "kiln render --all (no change)" "$render"
fi

if [[ $sections == *" changed "* ]]; then
  echo "== re-render, one app changed, against rendering that app alone (goal: at most 2x)" >&2
  second=$repo/apps/app-${ids[1]}
  hyperfine --warmup 3 --runs "$quick" --style basic \
    --prepare "sed -i \"s/replicas: [0-9]*/replicas: \$RANDOM\$RANDOM/\" $first/deployment.yaml" \
    -n "kiln render --all (one app changed)" "$render" \
    --prepare "sed -i \"s/replicas: [0-9]*/replicas: \$RANDOM\$RANDOM/\" $second/deployment.yaml" \
    -n "kiln render of that one app" "$kiln render $second > /dev/null"
fi

if [[ $sections == *" memory "* ]]; then
  echo "== peak memory" >&2
  rm -rf "$KILN_CACHE_DIR/steps-v0"
  /usr/bin/time -v sh -c "$render" 2>&1 | grep -E 'Maximum resident|Elapsed' | sed 's/^/cold: /'
  /usr/bin/time -v sh -c "$render" 2>&1 | grep -E 'Maximum resident|Elapsed' | sed 's/^/warm: /'
fi
