#!/bin/sh
# Rewrites each case's expected.yaml from the oracle (kubectl kustomize of
# kubectl v1.35.2, kustomize v5.7.1), and checks that the oracle fails on the
# cases holding expected-error.txt. KILN_KUBECTL names the kubectl to run.
set -eu
kubectl=${KILN_KUBECTL:-$HOME/.cache/kiln-oracles/bin/kubectl}
cd "$(dirname "$0")"
for case in */; do
    case=${case%/}
    [ -d "$case/input" ] || continue
    target=$case/input
    [ -f "$case/target" ] && target=$case/input/$(cat "$case/target")
    if [ -f "$case/expected-error.txt" ]; then
        if "$kubectl" kustomize "$target" >/dev/null 2>&1; then
            echo "$case: kustomize succeeds, the case expects an error" >&2
            exit 1
        fi
    else
        "$kubectl" kustomize "$target" >"$case/expected.yaml" 2>/dev/null
    fi
done
