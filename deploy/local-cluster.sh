#!/usr/bin/env bash
# Start or stop a cluster of spigo nodes on this machine (127.0.0.1).
#
#   deploy/local-cluster.sh N      start N nodes in the background; prints the
#                                  cookie export and the --join list
#   deploy/local-cluster.sh stop   stop the nodes this script started
#
# Environment: SPIGO_BIN (default: target/release/spigo, then spigo on PATH),
# SPIGO_COOKIE (default: a fresh random cookie), SPIGO_CLUSTER_DIR (state
# folder; default ${TMPDIR:-/tmp}/spigo-local-cluster). Nodes listen on free
# ports; each exits by itself after a coordinator has used it and stopped.
# SPIGO_MAX_MEMORY (e.g. 1G) gives each node that --max-memory budget;
# SPIGO_AS_LIMIT (bytes) also runs each under `prlimit --as`, a hard limit
# from the kernel.
set -euo pipefail

state=${SPIGO_CLUSTER_DIR:-${TMPDIR:-/tmp}/spigo-local-cluster}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SPIGO_BIN:-}
if [ -z "$bin" ]; then
  if [ -x "$here/target/release/spigo" ]; then bin=$here/target/release/spigo; else bin=$(command -v spigo || true); fi
fi

stop() {
  [ -d "$state" ] || { echo "no cluster state in $state"; return 0; }
  for pidfile in "$state"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" && echo "stopped $(basename "$pidfile" .pid) (pid $pid)"; fi
    rm -f "$pidfile"
  done
}

start() {
  n=$1
  case "$n" in ''|*[!0-9]*) echo "usage: $0 N | stop" >&2; exit 2;; esac
  [ "$n" -ge 1 ] || { echo "$0: N must be at least 1" >&2; exit 2; }
  [ -n "$bin" ] && [ -x "$bin" ] || { echo "$0: no spigo binary (build with cargo build --release, or set SPIGO_BIN)" >&2; exit 2; }
  mkdir -p "$state"
  stop >/dev/null
  cookie=${SPIGO_COOKIE:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}
  (umask 077; printf '%s' "$cookie" > "$state/cookie")
  join=""
  for i in $(seq 1 "$n"); do
    out="$state/node$i.out"
    : > "$out"
    cmd=("$bin" node --listen 127.0.0.1:0 --name "node$i")
    [ -z "${SPIGO_MAX_MEMORY:-}" ] || cmd+=(--max-memory "$SPIGO_MAX_MEMORY")
    [ -z "${SPIGO_AS_LIMIT:-}" ] || cmd=(prlimit "--as=$SPIGO_AS_LIMIT" "${cmd[@]}")
    SPIGO_COOKIE=$cookie nohup "${cmd[@]}" >"$out" 2>"$state/node$i.log" </dev/null &
    echo $! > "$state/node$i.pid"
    for _ in $(seq 1 100); do
      grep -q "listening on" "$out" 2>/dev/null && break
      sleep 0.1
    done
    addr=$(sed -n 's/.*listening on //p' "$out" | head -n 1)
    [ -n "$addr" ] || { echo "$0: node$i did not start; see $state/node$i.log" >&2; stop; exit 1; }
    join=${join:+$join,}$addr
  done
  echo "export SPIGO_COOKIE=\$(cat $state/cookie)"
  echo "--join $join"
}

case "${1:-}" in
  stop) stop ;;
  *) start "${1:-}" ;;
esac
