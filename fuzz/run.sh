#!/usr/bin/env bash
# Builds the fuzz targets and runs each on its committed corpus for a while.
# Usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   (default 30 s, every target)
# Needs a nightly toolchain and cargo-fuzz; both are installed when missing.
# New inputs go to a temp dir (the committed corpus stays as it is); a crash
# leaves its input under fuzz/artifacts/TARGET/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-30}
shift || true
toolchain=${KILN_FUZZ_TOOLCHAIN:-nightly}
fuzz_version=0.13.2
export CARGO_TARGET_DIR="${KILN_FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln-fuzz/target}"

rustup run "$toolchain" rustc --version >/dev/null 2>&1 ||
  rustup toolchain install "$toolchain" --profile minimal
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $fuzz_version" ]; then
  cargo +"$toolchain" install cargo-fuzz --version "$fuzz_version" --locked
fi

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +"$toolchain" fuzz list --fuzz-dir .)

cargo +"$toolchain" fuzz build --fuzz-dir . >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  if cargo +"$toolchain" fuzz run --fuzz-dir . "$t" "$work/$t" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 >"$work/$t.log" 2>&1; then
    echo "fuzz $t: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$work/$t.log" | tail -1), no crash"
  else
    echo "fuzz $t: FAILED"
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$work/$t.log" | head -10
    status=1
  fi
done
exit $status
