#!/usr/bin/env bash
# Builds the KRM functions of the catalog that kiln's tests run: each one
# twice from the Go module proxy, for WASI (`GOOS=wasip1 GOARCH=wasm`, stock
# Go, the sources unchanged) and natively (the oracle for the expected
# outputs). Outputs are cached outside the repository, keyed by the Go
# version and the function's version:
#
#   ${KILN_KRM_CACHE:-~/.cache/kiln-krm}/<go version>/<function>@<version>/{fn.wasm,fn}
#
# and a build already there is reused. The test functions of
# tests/krm/fixtures (standard library only) are built for WASI too, keyed
# by the hash of their sources. Prints the cache directory of this Go
# version on its last line. Needs Go >= 1.24 and the Go module proxy.
set -euo pipefail

# The functions, pinned: module path and version. Only released versions
# are listed (the proxy serves those).
CATALOG=github.com/GoogleContainerTools/kpt-functions-catalog/functions/go
FUNCTIONS=(
    "set-namespace $CATALOG/set-namespace v0.4.1"
    "apply-setters $CATALOG/apply-setters v0.2.0"
    "list-setters $CATALOG/list-setters v0.1.0"
    "apply-replacements $CATALOG/apply-replacements v0.1.1"
    "starlark $CATALOG/starlark v0.4.3"
)

command -v go >/dev/null || { echo "build.sh: Go is not installed (https://go.dev/dl or your package manager)" >&2; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
go_version=$(go env GOVERSION)
root=${KILN_KRM_CACHE:-$HOME/.cache/kiln-krm}/$go_version
mkdir -p "$root"

for entry in "${FUNCTIONS[@]}"; do
    read -r name module version <<<"$entry"
    out=$root/$name@$version
    if [[ -s $out/fn.wasm && -x $out/fn ]]; then
        continue
    fi
    echo "building $name $version with $go_version" >&2
    dir=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -d $dir ]] || { echo "build.sh: cannot download $module@$version" >&2; exit 1; }
    tmp=$(mktemp -d "$root/.build.XXXXXX")
    (cd "$dir" && GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags='-s -w' -o "$tmp/fn.wasm" .)
    (cd "$dir" && go build -trimpath -o "$tmp/fn" .)
    rm -rf "$out"
    mv "$tmp" "$out"
done
# kiln's own test functions (tests/krm/fixtures/<name>, standard library
# only), keyed by the hash of their sources.
fixtures=$(cd "$(dirname "$0")/fixtures" && pwd)
for dir in "$fixtures"/*/; do
    name=$(basename "$dir")
    hash=$(cd "$dir" && cat go.mod ./*.go | sha256sum | cut -c1-16)
    out=$root/$name@src-$hash
    [[ -s $out/fn.wasm ]] && continue
    echo "building the test function $name with $go_version" >&2
    tmp=$(mktemp -d "$root/.build.XXXXXX")
    (cd "$dir" && GOOS=wasip1 GOARCH=wasm go build -trimpath -ldflags='-s -w' -o "$tmp/fn.wasm" .)
    rm -rf "$root/$name@"*
    mv "$tmp" "$out"
done
echo "$root"
