#!/usr/bin/env bash
# Past one process's memory, on one machine: a pirate population that one
# memory-capped node cannot hold is refused in one line, the same run in one
# process under only the kernel's limit dies, and over NODES nodes with the
# same cap it completes. It fails (exit status 1) if the capped node does
# not refuse, so PIRATES must be more than CAP holds.
#
#   deploy/scale-demo.sh [PIRATES] [CAP] [NODES] [DURATION]
#                                  defaults: 400000 1G 4 0
#
# Each node gets `--max-memory CAP` (spigo's own budget: a node announces
# what it can hold, the coordinator places by it, and a node refuses more)
# and, where prlimit exists, a hard address-space limit of CAP + 1 GiB from
# the kernel (a node reserves about that much address space beyond what it
# uses), so a budget that were wrong would end in a failed allocation, not
# in a machine that swaps. SPIGO_BIN picks the binary, as for
# local-cluster.sh.
set -euo pipefail

pirates=${1:-400000}
cap=${2:-1G}
nodes=${3:-4}
duration=${4:-0}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SPIGO_BIN:-$here/target/release/spigo}
[ -x "$bin" ] || { echo "$0: no spigo binary at $bin (cargo build --release)" >&2; exit 2; }

# 600M / 4G / 1.5G -> bytes (powers of 1024, as --max-memory reads them).
bytes() {
  local n=${1%[KkMmGgTt]} unit=${1: -1} shift=0
  case "$unit" in k|K) shift=10 ;; m|M) shift=20 ;; g|G) shift=30 ;; t|T) shift=40 ;; [0-9]) n=$1 ;;
    *) echo "$0: '$1' is not a size" >&2; exit 2 ;; esac
  awk -v n="$n" -v s="$shift" 'BEGIN { printf "%.0f\n", n * 2^s }'
}
limit=""
if command -v prlimit >/dev/null; then
  limit=$(( $(bytes "$cap") + (1 << 30) ))
fi
state=$(mktemp -d "${TMPDIR:-/tmp}/spigo-scale-demo.XXXXXX")
out=$(mktemp -d "${TMPDIR:-/tmp}/spigo-scale-out.XXXXXX")
cleanup() { SPIGO_CLUSTER_DIR=$state "$here/deploy/local-cluster.sh" stop >/dev/null || true; rm -rf "$state" "$out"; }
trap cleanup EXIT

cluster() {
  SPIGO_BIN=$bin SPIGO_CLUSTER_DIR=$state SPIGO_MAX_MEMORY=$cap SPIGO_AS_LIMIT=$limit \
    "$here/deploy/local-cluster.sh" "$1" | sed -n 's/^--join //p'
}
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

echo "== $pirates pirates on 1 node with --max-memory $cap${limit:+ (hard limit $limit bytes)}"
join=$(cluster 1)
status=0
SPIGO_COOKIE=$(cat "$state/cookie") "$bin" -a fsm -p "$pirates" -d "$duration" -q --join "$join" \
  >"$state/capped.log" 2>&1 || status=$?
grep '^spigo' "$state/capped.log" || true
echo "   exit status $status (2: refused before anything was spawned)"
if [ "$status" != 2 ] || ! grep -q '^spigo: out of memory budget' "$state/capped.log"; then
  echo "$0: the capped node should have refused $pirates pirates (exit status 2, 'spigo: out of memory budget'); got status $status:" >&2
  tail -n 20 "$state/capped.log" >&2
  echo "$0: (use more pirates or a smaller CAP)" >&2
  exit 1
fi
SPIGO_CLUSTER_DIR=$state "$here/deploy/local-cluster.sh" stop >/dev/null

if [ -n "$limit" ]; then
  echo "== the same in one process with only the kernel's limit (no --max-memory)"
  # In a subshell, so the shell's own "Aborted" notice stays out of the way.
  status=$( (prlimit "--as=$limit" "$bin" -a fsm -p "$pirates" -d "$duration" -q \
              >/dev/null 2>"$state/alone.log"; echo $?) 2>/dev/null )
  if [ "$status" = 0 ]; then
    echo "   exit status 0: it fitted under the kernel's limit too"
  else
    echo "   exit status $status: $(grep -m1 -E 'memory allocation|spigo:' "$state/alone.log" || echo 'no error line')"
  fi
fi

echo "== $pirates pirates over $nodes nodes with --max-memory $cap each"
join=$(cluster "$nodes")
t0=$(now)
SPIGO_COOKIE=$(cat "$state/cookie") "$bin" -a fsm -p "$pirates" -d "$duration" -q -j --out "$out" --join "$join" \
  | grep -E '^  (pirates|spawned|set-up|nodes)|^    node'
echo "   completed in $(took "$t0"); graph: $(du -h "$out/json/fsm.json" | cut -f1)"
