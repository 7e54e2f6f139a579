#!/usr/bin/env bash
# Reconnect storm with the real relay: SOCKETS Pusher clients (default 10000) on CHANNELS presence channels (default
# 200, i.e. 50 members each; keep it under the member cap of 100) connect through relay node A; A is killed with
# SIGKILL (no disconnect reaches Usher); every client reconnects to relay node B at once. Reports the time from the
# kill to the last reconnect (client-bound on a small machine, so reported on its own), the time from the last
# reconnect until Usher's member lists are complete again, and the member events emitted after the kill: each user
# either none (back on B before A's lease lapsed) or one member_removed then one member_added; anything else, a lost
# or repeated event on the stream, or a user missing at the end is an anomaly. Target: lists complete within 3 s of
# the last reconnect, no lost or duplicated member events.
#
#   scripts/bench-storm.sh [memory|postgres]   # default: both, one after the other
#
#   memory:   one `usher serve` (memory store); relays A and B both report to it.
#   postgres: a throwaway PostgreSQL cluster (scripts/lib/postgres-bench.sh, or USHER_TEST_POSTGRES_URL), two
#             `usher serve --store postgres://…`; relay A reports to instance 1, relay B to instance 2.
#
# Env: SOCKETS, CHANNELS, USHER_BIN (default: release build of this checkout), LEASE_MS (Usher's relay lease,
# default 15000: A's sockets are dropped that long after its last heartbeat; 3000 makes the slow reconnectors get
# removed and re-added), GRACE_MS (leave grace, default 3000), IN_FLIGHT (client handshakes in flight, default 500),
# USHER_THREADS / RELAY_THREADS (default 1 each). The client is scripts/lib/storm.py (asyncio `websockets`, from the
# test venv). Everything listens on 127.0.0.1 and is stopped and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-both}
case $mode in
  memory | postgres) ;;
  both)
    scripts/bootstrap.sh --test
    if [[ -z ${USHER_BIN:-} ]]; then
      swift build -c release --product usher >/dev/null
      export USHER_BIN="$(swift build -c release --show-bin-path)/usher"
    fi
    rc=0
    "$0" memory || rc=$?
    "$0" postgres || rc=$?
    exit "$rc"
    ;;
  *) echo "usage: scripts/bench-storm.sh [memory|postgres]" >&2; exit 2 ;;
esac

sockets=${SOCKETS:-10000}; channels=${CHANNELS:-200}
lease_ms=${LEASE_MS:-15000}; grace_ms=${GRACE_MS:-3000}
usher_threads=${USHER_THREADS:-1}; relay_threads=${RELAY_THREADS:-1}
(( (sockets + channels - 1) / channels <= 100 )) || { echo "bench-storm: more than 100 members per channel (the default cap)" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) > sockets + 1000 )) || { echo "bench-storm: ulimit -n $(ulimit -n) is too low for $sockets connections" >&2; exit 1; }
scripts/bootstrap.sh --test
usher=${USHER_BIN:-}
if [[ -z $usher ]]; then
  swift build -c release --product usher >/dev/null
  usher="$(swift build -c release --show-bin-path)/usher"
fi
# The relay's heartbeat has to be several times shorter than the lease (whole seconds, 1 to 5).
heartbeat=$(( lease_ms / 3000 )); (( heartbeat < 1 )) && heartbeat=1; (( heartbeat > 5 )) && heartbeat=5

wait_for() { # URL: up to 10 s
  for _ in $(seq 200); do curl -sf "$1" >/dev/null && return 0; sleep 0.05; done
  echo "bench-storm: $1 did not come up" >&2; return 1
}

postmaster=
source scripts/lib/postgres-bench.sh # pg_bench_cleanup stops the processes in $pids (SIGKILL after 5 s), then the cluster
if [[ $mode == postgres ]]; then
  # sets $work, $pids, $ports, $url and the exit trap
  pg_bench_start "lease_ms: $lease_ms, grace_ms: $grace_ms"
  usher_ports=("${ports[@]}"); usher_pids=("${pids[@]}")
  logs=("$work/a.log" "$work/b.log")
  [[ -n $own_cluster ]] && postmaster=$(head -1 "$own_cluster/data/postmaster.pid")
  store_text="two instances on PostgreSQL $(psql -tA "$url" -c 'SHOW server_version')"
else
  work=$(mktemp -d); pids=(); own_cluster=
  trap pg_bench_cleanup EXIT
  "$usher" apps create --id 4712 --keys "$work/keys" --json >"$work/app.json"
  printf 'relay: { lease_ms: %s, grace_ms: %s }\n' "$lease_ms" "$grace_ms" >"$work/usher.yaml"
  port=$((20000 + RANDOM % 10000))
  "$usher" serve --config "$work/usher.yaml" --keys "$work/keys" --port "$port" --threads "$usher_threads" \
    --log-level warning >"$work/serve.log" 2>&1 &
  pids+=($!)
  usher_ports=("$port" "$port"); usher_pids=($!)
  logs=("$work/serve.log")
  wait_for "http://127.0.0.1:$port/readyz"
  store_text="one instance, memory store"
fi

relay_ports=(); relay_pids=()
for n in 0 1; do
  name=$([[ $n == 0 ]] && echo a || echo b)
  relay_port=$((30000 + RANDOM % 10000))
  "$usher" relay --usher "http://127.0.0.1:${usher_ports[$n]}" --keys "$work/keys" --port "$relay_port" \
    --node "storm-$name" --heartbeat "${heartbeat}s" --threads "$relay_threads" --log-level warning \
    >"$work/relay-$name.log" 2>&1 &
  pids+=($!); relay_pids+=($!); relay_ports+=("$relay_port")
  disown $! # the client kills relay A; no "Killed" notice from this shell
  logs+=("$work/relay-$name.log")
  wait_for "http://127.0.0.1:$relay_port/healthz"
done

echo "== $mode: $sockets sockets on $channels presence channels ($(( (sockets + channels - 1) / channels )) members each), $store_text"
echo "   lease_ms $lease_ms, grace_ms $grace_ms, relay heartbeat ${heartbeat}s; usher --threads $usher_threads, relays --threads $relay_threads;" \
  "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   binary $usher, checkout $(git rev-parse --short HEAD)"
usher_args=(); for p in "${usher_ports[@]}"; do usher_args+=(--usher "$p"); done
[[ $mode == memory ]] && usher_args=(--usher "${usher_ports[0]}")
for p in "${usher_pids[@]}"; do usher_args+=(--usher-pid "$p"); done
[[ -n $postmaster ]] && usher_args+=(--postgres-pid "$postmaster")
rc=0
PYTHONUNBUFFERED=1 timeout 1500 .build/venv/bin/python scripts/lib/storm.py --work "$work" --label "$mode" \
  --relay-a "${relay_ports[0]}" --relay-a-pid "${relay_pids[0]}" --relay-b "${relay_ports[1]}" --relay-b-pid "${relay_pids[1]}" \
  "${usher_args[@]}" --sockets "$sockets" --channels "$channels" --lease-ms "$lease_ms" \
  --in-flight "${IN_FLIGHT:-500}" || rc=$?
(( rc == 124 )) && echo "$mode: the client did not finish within 1500 s"

# Warnings and errors the servers logged during the run (relay A's end with its kill).
for log in "${logs[@]}"; do
  count=$(grep -ciE 'warning|error|critical' "$log" || true)
  echo "log $(basename "$log"): $count warning/error lines"
  (( count > 0 )) && grep -iE 'warning|error|critical' "$log" | cut -c1-300 | sort | uniq -c | sort -rn | head -5
done
exit "$rc"
