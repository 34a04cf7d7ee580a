#!/usr/bin/env bash
# Fuzzes the decoders of what peers send (fuzz/fuzz_targets/): the cluster
# frame decoder (decode_frame.rs) and the handshake frames read before the
# cookie is proved (decode_handshake_frame.rs), for a bounded time in all on
# the stable toolchain, then prints one summary line per target.
#
#   .ci/fuzz.sh [SECONDS]      # default 60, split between the targets;
#                              # from any working directory
#
# cargo-fuzz wants nightly only for `-Zsanitizer=address`; RUSTC_BOOTSTRAP=1
# lets the stable compiler accept it (libFuzzer itself and the coverage
# instrumentation need no nightly). FUZZ_SANITIZER=none skips AddressSanitizer
# for about five times the executions per second, with RUSTC_BOOTSTRAP unset.
#
# Exits non-zero when the fuzzer finds a crash, a panic (a failed round-trip
# assertion is one), a leak, a timeout or an out-of-memory input; the input
# is left in fuzz/artifacts/<target>/ and printed here in hex. A failing
# target stops the script before the next one.
set -euo pipefail

seconds="${1:-60}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;;
esac
targets=(decode_frame decode_handshake_frame)
sanitizer="${FUZZ_SANITIZER:-address}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TERM_COLOR=never

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install --quiet --locked cargo-fuzz
fi

if [ "$sanitizer" = none ]; then
  fuzz() { cargo fuzz "$@"; }
else
  fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }
fi

# Cargo caches rustc's answers in target/.rustc_info.json without keying them
# on RUSTC_BOOTSTRAP: one earlier `cargo fuzz build` without it leaves a cached
# "-Z is only accepted on nightly" failure (rust-lang/cargo#9500). The file is
# recreated in milliseconds.
rm -f fuzz/target/.rustc_info.json

# Each target gets an equal share of the seconds (at least one).
share=$(( seconds / ${#targets[@]} ))
[ "$share" -ge 1 ] || share=1

log=""
trap 'rm -f "$log"' EXIT

# Builds and runs one target for $share seconds; prints its summary line.
run_target() {
  local target=$1 corpus artifacts status runs rate secs last stats env
  fuzz build --sanitizer "$sanitizer" "$target"

  corpus="fuzz/corpus/$target"
  artifacts="fuzz/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  log="$(mktemp "${TMPDIR:-/tmp}/fuzz-$target.XXXXXX.log")"

  # libFuzzer's progress lines go to the log; only the periodic ones are shown.
  set +e
  fuzz run --sanitizer "$sanitizer" "$target" -- \
    -max_total_time="$share" -timeout=30 -print_final_stats=1 \
    2>&1 | tee "$log" | grep --line-buffered -E '^(#[0-9]+[[:space:]]+(INITED|pulse|DONE)|INFO: .*(files found|seed corpus))'
  status="${PIPESTATUS[0]}"
  set -e

  # -print_final_stats=1 reports the executions even when a crash stops the run.
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  secs="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)"
  last="$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 || true)"
  field() { sed -n "s|.* $1: \([^ ]*\).*|\1|p" <<<"$last"; }
  stats="${rate:-?} exec/s, cov $(field cov), features $(field ft), corpus $(field corp)"

  if [ "$status" -ne 0 ]; then
    echo
    echo "== fuzzer output (last 40 lines)"
    tail -n 40 "$log"
    echo "== failure"
    grep -m 1 -A 3 -E "panicked at|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)" "$log" || true
    sed -n 's/.*Test unit written to //p' "$log" | while IFS= read -r f; do
      [ -f "$f" ] || continue
      echo "== $f ($(wc -c <"$f") bytes), hex:"
      od -An -v -tx1 "$f" | tr -d ' \n'
      echo
    done
    echo "fuzz $target: FAILED after ${runs:-?} executions (exit $status; $stats; sanitizer $sanitizer)"
    env=""; [ "$sanitizer" = none ] || env="RUSTC_BOOTSTRAP=1 "
    echo "reproduce: cd $root && ${env}cargo fuzz run --sanitizer $sanitizer $target <artifact>"
    exit 1
  fi
  echo "fuzz $target: ${runs:-?} executions in ${secs:-$share} s, no crash ($stats; sanitizer $sanitizer)"
  rm -f "$log"
}

for target in "${targets[@]}"; do
  run_target "$target"
done
