#!/usr/bin/env bash
# Builds kube-apiserver and etcd for the cluster tests, if not built yet, into
# a cache directory outside the clone keyed by their versions, and prints
# that directory. The Go build and module caches (GOCACHE, GOMODCACHE) are
# Go's own, so a rebuild after a version change reuses what it can.
#
#   tests/cluster/build.sh            # build if needed, print the bin dir
#   tests/cluster/build.sh --dir      # print the bin dir only
#   KILN_CLUSTER_BIN=DIR build.sh     # build into DIR instead
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The versions, read from go.mod so that there is one place to change them.
version() {
	awk -v m="$1" '$1 == m { print $2 } $1 == "require" && $2 == m { print $3 }' "$here/go.mod" | head -n1
}
k8s=$(version k8s.io/kubernetes)
etcd=$(version go.etcd.io/etcd/server/v3)
if [ -z "$k8s" ] || [ -z "$etcd" ]; then
	echo "build.sh: cannot read the k8s.io/kubernetes or etcd version from $here/go.mod" >&2
	exit 1
fi

bin=${KILN_CLUSTER_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln-cluster/$k8s-$etcd/bin}

if [ "${1:-}" = --dir ] || { [ -x "$bin/kube-apiserver" ] && [ -x "$bin/etcd" ]; }; then
	echo "$bin"
	exit 0
fi

if ! command -v go >/dev/null; then
	echo "build.sh: 'go' is not on PATH; the cluster tests need Go (see go.mod for the version) to build kube-apiserver $k8s and etcd $etcd" >&2
	exit 1
fi

mkdir -p "$bin"
echo "build.sh: building kube-apiserver $k8s and etcd $etcd into $bin (several minutes the first time)" >&2
cd "$here"
# Build into a temporary name and rename, so that an interrupted build never
# leaves a binary that looks complete.
export CGO_ENABLED=0
# The version the server reports (`/version`, `kubectl version`) is stamped at
# link time, as Kubernetes' own release build does.
minor=${k8s#v1.}
minor=${minor%%.*}
v=k8s.io/component-base/version
nice go build -trimpath \
	-ldflags="-s -X $v.gitVersion=$k8s -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
	-o "$bin/.kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
nice go build -trimpath -ldflags=-s -o "$bin/.etcd.tmp" ./etcd
mv -f "$bin/.kube-apiserver.tmp" "$bin/kube-apiserver"
mv -f "$bin/.etcd.tmp" "$bin/etcd"
echo "$bin"
