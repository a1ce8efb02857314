#!/usr/bin/env bash
# Whole-system benchmark of `kiln agent` on this machine (a benchmark, not a test):
#
#   1. converge APPS apps (default 1000, one ConfigMap each) from one commit on an empty API
#      server (tests/cluster/up.sh: etcd + kube-apiserver), plugins compiled beforehand;
#   2. a one-app commit and a signed GitHub webhook: time until the change is in the cluster
#      (each of 5 rounds; `kubectl wait` watches the object);
#   3. steady state, nothing changing: CPU (% of one core) and RSS of the agent holding the
#      apps, over STEADY seconds (default 60; the remote is listed every 10 s);
#   4. git sources: `kiln render --repo file://… --rev main --all apps` cold and with nothing
#      changed, against `kiln render --all` on the same directory (hyperfine, side by side).
#
#   benches/agent.sh [APPS]        KILN=path/to/kiln measures that binary (default: a release
#                                  build); KUBECTL=kubectl (v1.35) for the checks; STEADY=60;
#                                  AGENT_LOG=file keeps the agent's log (KILN_LOG=info for more)
#
# Goals (the issue): webhook-to-applied <= 2 s; steady state <= 2% of a core and <= 150 MiB;
# no-change render from git <= 25 ms; cold from git within 1.3x of cold local.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=benches/kiln.sh
. "$here/kiln.sh"
apps=${1:-1000}
steady=${STEADY:-60}
kubectl=${KUBECTL:-kubectl}
work=$(mktemp -d)
agent_pid=
cleanup() {
	if [ -n "$agent_pid" ]; then
		kill "$agent_pid" 2>/dev/null || true
		wait "$agent_pid" 2>/dev/null || true
	fi
	"$here/../tests/cluster/down.sh" "$work/cp" >/dev/null 2>&1 || true
	if [ -n "${AGENT_LOG:-}" ] && [ -f "$work/agent.log" ]; then cp "$work/agent.log" "$AGENT_LOG"; fi
	rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s%N; }
ms() { echo $((($(now) - $1) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== control plane"
"$here/../tests/cluster/up.sh" "$work/cp" >/dev/null
kc=$work/cp/kubeconfig
k() { "$kubectl" --kubeconfig "$kc" "$@"; }
k create namespace bench >/dev/null

echo "== a repository of $apps apps"
repo=$work/repo
mkdir -p "$repo"
git -C "$repo" init -q -b main
python3 - "$repo" "$apps" <<'PY'
import os, sys
repo, n = sys.argv[1], int(sys.argv[2])
with open(os.path.join(repo, "agent.yaml"), "w") as f:
    f.write("apiVersion: kiln.dev/v1alpha1\nkind: Agent\napps: {root: apps}\n"
            "inventoryNamespace: bench\nsource: {interval: 10s}\n"
            "defaults: {interval: 10m, retryInterval: 30s, timeout: 1m}\n")
for i in range(n):
    d = os.path.join(repo, "apps", f"app-{i:04}")
    os.makedirs(d)
    with open(os.path.join(d, "kustomization.yaml"), "w") as f:
        f.write("resources: [cm.yaml]\n")
    with open(os.path.join(d, "cm.yaml"), "w") as f:
        f.write(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:04}\n"
                f"  namespace: bench\ndata:\n  k: v1\n")
PY
git -C "$repo" add -A
git -C "$repo" -c user.name=b -c user.email=b@example.com commit -qm v1

export KILN_CACHE_DIR=$work/cache
# Plugins compile once per machine; the converge below measures the agent, not that.
"$kiln" render "$repo/apps/app-0000" >/dev/null

token=bench-token
printf '%s' "$token" >"$work/token"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
hook=$(printf '%s%s%s' "$token" kiln bench | sha256sum | cut -d' ' -f1)

echo "== 1. converge $apps apps from one commit"
start=$(now)
KILN_LOG=${KILN_LOG:-warn} "$kiln" agent --repo "file://$repo" --ref main --config agent.yaml \
	--listen "127.0.0.1:$port" --webhook-token-file "$work/token" --namespace bench \
	--kubeconfig "$kc" >"$work/agent.log" 2>&1 &
agent_pid=$!
ready() {
	k get cm -n bench -l kiln.dev/inventory \
		-o jsonpath='{range .items[*]}{.metadata.annotations.kiln\.dev/ready}{"\n"}{end}' |
		grep -c '^True$' || true
}
while [ "$(ready)" -lt "$apps" ]; do
	kill -0 "$agent_pid" 2>/dev/null || {
		tail -20 "$work/agent.log"
		exit 1
	}
	sleep 1
done
converge=$(ms "$start")
echo "converged: ${converge} ms ($apps apps)"

echo "== 2. webhook to applied (one app changed)"
rounds=()
for i in 1 2 3 4 5; do
	app=$(printf 'app-%04d' $((i * apps / 7)))
	cm=cm-${app#app-}
	sed -i "s/k: .*/k: w$i/" "$repo/apps/$app/cm.yaml"
	git -C "$repo" -c user.name=b -c user.email=b@example.com commit -qam "w$i"
	body='{"ref":"refs/heads/main"}'
	sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$token" -r | cut -d' ' -f1)
	t0=$(now)
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "x-hub-signature-256: sha256=$sig" \
		--data-binary "$body" "http://127.0.0.1:$port/hook/$hook")
	[ "$code" = 202 ] || {
		echo "webhook answered $code"
		exit 1
	}
	k wait -n bench --for=jsonpath='{.data.k}'="w$i" "cm/$cm" --timeout=120s >/dev/null
	rounds+=("$(ms "$t0")")
	sleep 2
done
echo "webhook to applied: ${rounds[*]} ms (median $(printf '%s\n' "${rounds[@]}" | median) ms)"

echo "== 3. steady state over ${steady} s"
# Every app records the last commit first (the unchanged ones without applying).
last="main@sha1:$(git -C "$repo" rev-parse HEAD)"
caught_up() {
	k get cm -n bench -l kiln.dev/inventory \
		-o jsonpath='{range .items[*]}{.metadata.annotations.kiln\.dev/revision}{"\n"}{end}' |
		grep -c "^$last\$" || true
}
t0=$(now)
while [ "$(caught_up)" -lt "$apps" ]; do sleep 1; done
echo "statuses caught up after $(ms "$t0") ms"
sleep 5
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$agent_pid/stat"; }
c0=$(cpu)
sleep "$steady"
c1=$(cpu)
rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$agent_pid/status")
hwm=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$agent_pid/status")
pct=$(awk -v d=$((c1 - c0)) -v t="$tck" -v s="$steady" 'BEGIN {printf "%.2f", 100 * d / t / s}')
echo "steady state: ${pct}% of a core, RSS ${rss} MiB (peak ${hwm} MiB)"
kill "$agent_pid"
wait "$agent_pid" 2>/dev/null || true
agent_pid=

echo "== 4. git sources against a directory ($apps apps)"
# Side by side with hyperfine: cold (render cache and git mirror emptied before each run; the
# compiled plugins kept) and with nothing changed.
command -v hyperfine >/dev/null || {
	echo "hyperfine is needed for this section (apt-get install hyperfine)"
	exit 1
}
for c in c-local c-git; do KILN_CACHE_DIR=$work/$c "$kiln" render "$repo/apps/app-0000" >/dev/null; done
git_render="env KILN_CACHE_DIR=$work/c-git $kiln render --repo file://$repo --rev main --all apps"
local_render="env KILN_CACHE_DIR=$work/c-local $kiln render --all $repo/apps"
hyperfine -N --runs 5 --style basic \
	--prepare "rm -rf $work/c-git/steps-v1 $work/c-git/git-v0" -n "git, cold" "$git_render" \
	--prepare "rm -rf $work/c-local/steps-v1" -n "directory, cold" "$local_render"
$git_render >/dev/null
$local_render >/dev/null
sleep 2 # stamps younger than two seconds are not trusted (host/src/stamp.rs)
hyperfine -N --warmup 3 --runs 30 --style basic \
	-n "git, nothing changed" "$git_render" -n "directory, nothing changed" "$local_render"
