# Sourced by the benchmark scripts: sets $kiln to the binary to measure.
# KILN=path/to/kiln uses that binary; otherwise kiln is built in release mode.
if [ -z "${KILN:-}" ]; then
  (cd "$(dirname "${BASH_SOURCE[0]}")/.." && cargo build --release -q -p kiln)
  target=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  KILN="$target/release/kiln"
fi
kiln=$KILN
