#!/usr/bin/env bash
# Builds the Python team-label plugin into a WebAssembly component.
# Usage: build.sh [OUTPUT]   (default ./team_label.wasm)
# Needs componentize-py (pip install -r requirements.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-./team_label.wasm}
wit="$here/../../wit"
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
# Bindings for the `plugin` world: the `wit_world` package app.py imports.
componentize-py -d "$wit" -w plugin bindings "$gen"
componentize-py -d "$wit" -w plugin componentize -p "$here" -p "$gen" app -o "$out"
