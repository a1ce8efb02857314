#!/usr/bin/env bash
# Stops the control plane that up.sh started in DIR (leaves DIR in place).
#
#   tests/cluster/down.sh DIR
#   down.sh --running DIR       # exit 0 if its kube-apiserver is running
#   down.sh --only NAME DIR     # stop only NAME (etcd or kube-apiserver)
set -euo pipefail

mode=stop
names="kube-apiserver etcd"
case ${1:-} in
--running) mode=running; shift ;;
--only) names=$2; shift 2 ;;
esac
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 [--running | --only NAME] DIR (a directory up.sh started a control plane in)" >&2
	exit 2
fi
dir=$(cd "$1" && pwd)

# The process of PIDFILE, if it is still the one up.sh started (its command
# line names DIR), so that a recycled process id is never signalled.
ours() {
	local pid
	[ -f "$1" ] || return 1
	pid=$(cat "$1")
	alive "$pid" || return 1
	{ tr '\0' ' ' <"/proc/$pid/cmdline"; echo; } | grep -qF -- "${2:-$dir/}" || return 1
	echo "$pid"
}

# Whether PID runs (a zombie nobody has reaped yet does not).
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

if [ "$mode" = running ]; then
	ours "$dir/kube-apiserver.pid" >/dev/null
	exit
fi

# The watcher up.sh may have left (KILN_CLUSTER_WATCH_PID), unless it is the
# one running this.
if [ "$names" = "kube-apiserver etcd" ] && pid=$(ours "$dir/watch.pid" " $dir ") && [ "$pid" != "$PPID" ]; then
	kill -TERM "$pid" 2>/dev/null || true
	rm -f "$dir/watch.pid"
fi

for name in $names; do
	if pid=$(ours "$dir/$name.pid"); then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			alive "$pid" || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/$name.pid"
done
