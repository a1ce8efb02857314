#!/usr/bin/env bash
# Whole-process benchmarks with hyperfine (Debian package `hyperfine`), side by
# side in one run. Builds kiln in release mode first.
#
#   benches/render.sh            # all
#   benches/render.sh directory  # only the directory app
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/kiln.sh  # $kiln: KILN=path/to/kiln, else a release build
export KILN_CACHE_DIR
KILN_CACHE_DIR=$(mktemp -d)
trap 'rm -rf "$KILN_CACHE_DIR"' EXIT
which=${1:-all}

if [ "$which" = all ] || [ "$which" = directory ]; then
  echo "== directory app: plugin run (warm compiled-component cache) vs render-cache hit"
  "$kiln" render examples/notes-board >/dev/null
  sleep 2.1  # stamps younger than two seconds are not trusted (host/src/stamp.rs)
  "$kiln" render --no-cache examples/notes-board >/dev/null
  hyperfine -N --warmup 5 --runs 50 -n "plugin run" "$kiln render --no-cache examples/notes-board" \
    -n "render-cache hit" "$kiln render examples/notes-board"
  echo "== first render with a cold compiled-component cache vs warm"
  hyperfine --runs 5 \
    --prepare "rm -rf $KILN_CACHE_DIR/components-v1" -n cold "$kiln render --no-cache examples/notes-board" \
    --prepare true \
    -n warm "$kiln render --no-cache examples/notes-board"
fi

if [ "$which" = all ] || [ "$which" = overlay ]; then
  if "$kiln" plugin list | grep -qx overlay && command -v kubectl >/dev/null; then
    echo "== kustomize overlays: kiln render vs kubectl kustomize"
    for app in examples/shop/overlays/dev examples/shop/overlays/prod; do
      [ -d "$app" ] || continue
      "$kiln" render "$app" >/dev/null
      sleep 2.1  # stamps younger than two seconds are not trusted (host/src/stamp.rs)
      "$kiln" render --no-cache "$app" >/dev/null
      hyperfine -N --warmup 3 --runs 30 -n "kiln --no-cache $app" "$kiln render --no-cache $app" \
        -n "kiln (render-cache hit) $app" "$kiln render $app" -n "kubectl kustomize $app" "kubectl kustomize $app"
    done
  fi
fi
