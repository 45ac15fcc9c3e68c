#!/usr/bin/env bash
# Runs the cargo-fuzz targets of integration-tests/fuzz (libFuzzer), one at a time, each for
# SECONDS (default 600, issue 11's acceptance), on one core: scripts/fuzz.sh [TARGET] [SECONDS].
# TARGET is order_params, signature, market_stream, ws_api, or all (the default).
#
# Stable Rust only: cargo fuzz passes nightly flags (-Zsanitizer=address, sanitizer coverage
# passes), which the stable compiler accepts under RUSTC_BOOTSTRAP=1; its rust-std ships the
# AddressSanitizer runtime, so the address sanitizer works (FUZZ_SANITIZER=none skips it).
#
# The committed corpus (corpus/TARGET) is read, not written: new inputs go to
# target/corpus/TARGET; `scripts/fuzz.sh merge TARGET` folds the ones that add coverage back
# into the committed corpus and minimizes it (cargo fuzz cmin). A crash leaves its input in
# artifacts/TARGET and fails the script. CI does not run this: the committed corpus is
# replayed by integration-tests/tests/fuzz_corpus.rs instead.
set -euo pipefail
cd "$(dirname "$0")/../integration-tests/fuzz"

TARGETS=(order_params signature market_stream ws_api)
SANITIZER="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing; installing it from crates.io" >&2
  cargo install --locked cargo-fuzz
fi

# merge TARGET: the working corpus's new coverage into the committed one, minimized. Edges
# only (-use_counters=0), not hit counts: a few hundred inputs and tens of KB per target.
if [ "${1:-}" = merge ]; then
  target="${2:?scripts/fuzz.sh merge TARGET}"
  mkdir -p "target/corpus/$target"
  cargo fuzz run --sanitizer "$SANITIZER" "$target" "corpus/$target" "target/corpus/$target" \
    -- -merge=1 -use_counters=0
  cargo fuzz cmin --sanitizer "$SANITIZER" "$target" "corpus/$target" -- -use_counters=0
  exit 0
fi

selected="${1:-all}"
seconds="${2:-600}"
if [ "$selected" = all ]; then
  selected=("${TARGETS[@]}")
else
  selected=("$selected")
fi

cargo fuzz build --sanitizer "$SANITIZER"
for target in "${selected[@]}"; do
  mkdir -p "target/corpus/$target" "artifacts/$target"
  echo "== $target: ${seconds}s, sanitizer $SANITIZER" >&2
  # One process on one core (libFuzzer's default without -jobs/-workers); the committed
  # corpus seeds the run, new inputs go to the working corpus (the first directory).
  cargo fuzz run --sanitizer "$SANITIZER" "$target" "target/corpus/$target" "corpus/$target" \
    -- -max_total_time="$seconds" -print_final_stats=1
done
