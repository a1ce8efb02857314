#!/usr/bin/env bash
# Argo CD's plugin path, three ways, on the shop overlay, the webapp chart
# and a generated monorepo of APPS apps (one app per request): a warm
# `kiln cmp-server`, a `kiln render` process per request (what the stock
# argocd-cmp-server does with deploy/argocd/stock/plugin.yaml), and
# `kubectl kustomize` / `helm template` per request; the warm server both
# for an unchanged repository and for a new commit of the same content
# (answered from the render cache, not the response cache). Every request includes
# building the tarball as the repo-server does; the two process ways also
# unpack it, as argocd-cmp-server does. Requests are sequential; the render
# cache (KILN_CACHE_DIR) is shared, so the process ways get its hits too.
#
# Usage: benches/cmp.sh [APPS=1000]
# Env:   KILN=path/to/kiln (default: a release build), REQUESTS (default 30),
#        KUBECTL, HELM (default: the oracles tests/run.sh installs, else PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
apps=${1:-1000}
requests=${REQUESTS:-30}
source benches/kiln.sh  # $kiln
tools=${KILN_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln-tools}
oracles=$(ls -d "$tools"/oracles-* 2>/dev/null | tail -1 || true)
kubectl=${KUBECTL:-$( [ -n "$oracles" ] && [ -x "$oracles/kubectl" ] && echo "$oracles/kubectl" || command -v kubectl)}
helm=${HELM:-$( [ -n "$oracles" ] && [ -x "$oracles/helm" ] && echo "$oracles/helm" || command -v helm)}
[ -x "$kubectl" ] && [ -x "$helm" ] || { echo "error: kubectl and helm are needed (tests/run.sh installs them)" >&2; exit 2; }

work=$(mktemp -d)
server=
cleanup() { [ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export KILN_CACHE_DIR=$work/cache
export KILN_NO_PROGRESS=true

# The driver: an example of the kiln crate (the same client the tests use).
cargo build -q -p kiln --example cmp_bench ${KILN_BENCH_PROFILE:+--profile "$KILN_BENCH_PROFILE"}
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
driver="$target/${KILN_BENCH_PROFILE:-debug}/examples/cmp_bench"
[ "${KILN_BENCH_PROFILE:-}" = dev ] && driver="$target/debug/examples/cmp_bench"

echo "generating $apps apps in $work/mono" >&2
mkdir -p "$work/mono/apps"
for i in $(seq -w 1 "$apps"); do
  d=$work/mono/apps/app-$i
  mkdir -p "$d"
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-%s\n  labels: {app: app-%s}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: app-%s}\n  template:\n    metadata:\n      labels: {app: app-%s}\n    spec:\n      containers:\n      - name: main\n        image: registry.example/app-%s:1.0.0\n' "$i" "$i" "$i" "$i" "$i" > "$d/deployment.yaml"
  printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: app-%s\nspec:\n  selector: {app: app-%s}\n  ports:\n  - port: 80\n' "$i" "$i" > "$d/service.yaml"
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n- service.yaml\n' > "$d/kustomization.yaml"
  echo "apps/app-$i" >> "$work/mono-apps.txt"
done

socket=$work/plugins/kiln.sock
"$kiln" cmp-server --socket "$socket" --work-dir "$work/cmp" -q &
server=$!
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs" >&2
echo "| scenario | way | requests | req/s | p50 ms | p99 ms |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
"$driver" --name "shop overlay (prod)" --socket "$socket" --kiln "$kiln" --requests "$requests" \
  --root examples/shop --apps overlays/prod --tool "$kubectl kustomize {app}"
"$driver" --name "webapp chart" --socket "$socket" --kiln "$kiln" --requests "$requests" \
  --root examples/webapp --apps . \
  --tool "$helm template shop {app} --namespace shop-prod -f {app}/values-prod.yaml --kube-version 1.30.0"
"$driver" --name "monorepo, $apps apps" --socket "$socket" --kiln "$kiln" --requests "$requests" \
  --root "$work/mono" --apps-file "$work/mono-apps.txt" --tool "$kubectl kustomize {app}"
