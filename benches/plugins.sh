#!/usr/bin/env bash
# One plugin per language, as `kiln plugin new LANG` writes it (sets a label
# from `with:`): its component size, cold compile and warm call on 100
# resources, side by side in one criterion run (host/benches/runtime.rs).
# Needs each language's toolchain, as tests/run.sh installs them.
#
#   benches/plugins.sh [LANG...]     (default: rust go js ts python c)
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/kiln.sh  # $kiln: KILN=path/to/kiln, else a release build
langs=("$@")
[ ${#langs[@]} -gt 0 ] || langs=(rust go js ts python c)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kiln-bench-plugins
list=
for lang in "${langs[@]}"; do
  (cd "$work" && "$kiln" plugin new "$lang" "team-$lang" >/dev/null 2>&1)
  CARGO_TARGET_DIR="$cache/$lang" "$kiln" plugin build "$work/team-$lang" >&2
  list+="$lang=$work/team-$lang/plugin.wasm,"
done
for lang in "${langs[@]}"; do
  printf '%-7s %8d bytes\n' "$lang" "$(stat -c %s "$work/team-$lang/plugin.wasm")"
done
KILN_BENCH_PLUGINS=$list cargo bench -q -p kiln --bench runtime -- language/ 2>&1 |
  grep -E '^language/|time:|bytes'
