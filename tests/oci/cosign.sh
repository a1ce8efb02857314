#!/usr/bin/env bash
# Builds cosign (the Sigstore CLI) from the Go module proxy, for the tests
# that check kiln's signatures against the real thing. The binary is cached
# outside the repository, keyed by the cosign and Go versions:
#
#   ${KILN_COSIGN_CACHE:-~/.cache/kiln-cosign}/<cosign version>-<go version>/cosign
#
# and a build already there is reused. Prints the binary's path on its last
# line. Needs Go (cosign v2.6 asks for >= 1.24) and the Go module proxy.
set -euo pipefail

COSIGN_MODULE=github.com/sigstore/cosign/v2/cmd/cosign
COSIGN_VERSION=v2.6.5

command -v go >/dev/null || { echo "cosign.sh: Go is not installed" >&2; exit 1; }
dir=${KILN_COSIGN_CACHE:-$HOME/.cache/kiln-cosign}/$COSIGN_VERSION-$(go env GOVERSION)
if [ ! -x "$dir/cosign" ]; then
  echo "cosign.sh: building cosign $COSIGN_VERSION into $dir (a few minutes the first time)" >&2
  mkdir -p "$dir"
  GOBIN="$dir" CGO_ENABLED=0 GOFLAGS=-mod=mod go install "$COSIGN_MODULE@$COSIGN_VERSION" >&2
fi
echo "$dir/cosign"
