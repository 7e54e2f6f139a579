#!/usr/bin/env bash
# Churn soak of the relay (issue #17): CONNECTIONS Pusher clients (default 5000) kept open for DURATION seconds
# (default 600), each joining one of 100 presence channels as a user of its own, staying 2-20 s, then dropping its TCP
# connection without a close frame and being replaced at once (scripts/lib/soak.py, asyncio `websockets`). Checks
# that every presence channel ends empty and that each user was added exactly once and removed exactly once on
# Usher's event stream, and prints the servers' RSS at start, after the ramp, at the end and after the drain.
#
#   scripts/soak-relay.sh [memory|postgres]   # default: both, one after the other
#
#   memory:   one `usher serve` (memory store) and one relay.
#   postgres: a throwaway PostgreSQL cluster (or USHER_TEST_POSTGRES_URL), two `usher serve --store postgres://…`,
#             a relay on each; the clients spread over both relays.
#
# Env: CONNECTIONS, DURATION (seconds), USHER_BIN (default: release build of this checkout), RELAY_LOG_LEVEL
# (default warning), KEEP_LOGS=DIR (the servers' logs are copied there), PG_BENCH_STORE_TIMEOUT_MS (postgres: the
# instances' store timeout, e.g. 50 to make Usher answer 503s under the churn), SOAK_TRIM=1 (also report RSS after
# `malloc_trim(0)`, called through gdb: what glibc kept free versus memory still in use), SOAK_ROUNDS=N (churn and
# drain N times in a row: memory after each drain stays flat from the second round on, or grows with a leak).
# Everything listens on 127.0.0.1 and is stopped and removed on exit. Not part of the test suite (it runs for minutes).
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
    [[ -n ${KEEP_LOGS:-} ]] && mkdir -p "$KEEP_LOGS" && cp "$work"/*.log "$KEEP_LOGS"/
exit "$rc"
    ;;
  *) echo "usage: scripts/soak-relay.sh [memory|postgres]" >&2; exit 2 ;;
esac
connections=${CONNECTIONS:-5000}; duration=${DURATION:-600}
[[ -z ${SOAK_TRIM:-} ]] || command -v gdb >/dev/null || { echo "soak-relay: SOAK_TRIM needs gdb (apt-get install gdb)" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) > connections + 1000 )) || { echo "soak-relay: ulimit -n $(ulimit -n) is too low" >&2; exit 1; }
scripts/bootstrap.sh --test
usher=${USHER_BIN:-}
if [[ -z $usher ]]; then
  swift build -c release --product usher >/dev/null
  usher="$(swift build -c release --show-bin-path)/usher"
fi
wait_for() { for _ in $(seq 200); do curl -sf "$1" >/dev/null && return 0; sleep 0.05; done; echo "soak-relay: $1 did not come up" >&2; return 1; }

source scripts/lib/postgres-bench.sh # pg_bench_cleanup stops the processes in $pids, then the cluster
if [[ $mode == postgres ]]; then
  pg_bench_start "grace_ms: 3000" # sets $work, $pids, $ports, $url and the exit trap
  usher_ports=("${ports[@]}"); usher_pids=("${pids[@]}")
  store_text="two instances on PostgreSQL $(psql -tA "$url" -c 'SHOW server_version')"
else
  work=$(mktemp -d); pids=(); own_cluster=
  trap pg_bench_cleanup EXIT
  "$usher" apps create --id 4712 --keys "$work/keys" --json >"$work/app.json"
  port=$((20000 + RANDOM % 10000))
  "$usher" serve --keys "$work/keys" --port "$port" --log-level warning >"$work/serve.log" 2>&1 &
  pids+=($!); usher_ports=("$port"); usher_pids=($!)
  wait_for "http://127.0.0.1:$port/readyz"
  store_text="one instance, memory store"
fi
relay_urls=(); relay_pids=()
for n in "${!usher_ports[@]}"; do
  relay_port=$((30000 + RANDOM % 10000))
  "$usher" relay --usher "http://127.0.0.1:${usher_ports[$n]}" --keys "$work/keys" --port "$relay_port" --node "soak-$n" \
    --log-level "${RELAY_LOG_LEVEL:-warning}" >"$work/relay-$n.log" 2>&1 &
  pids+=($!); relay_pids+=($!); relay_urls+=("ws://127.0.0.1:$relay_port/app/KEY?protocol=7&client=soak&version=1")
  wait_for "http://127.0.0.1:$relay_port/healthz"
done
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$work/keys/apps/4712.json")
secret=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print((a.get("secrets") or [a])[0].get("secret") or a["secret"])' "$work/keys/apps/4712.json")
urls=$(IFS=,; echo "${relay_urls[*]//KEY/$key}")
all_pids=$(IFS=,; echo "${usher_pids[*]},${relay_pids[*]}")
echo "== $mode: $connections connections churning for ${duration}s on 100 presence channels, $store_text, $(nproc) cores"
echo "   RSS columns: usher instance(s), then relay(s); checkout $(git rev-parse --short HEAD)"
rc=0
PYTHONUNBUFFERED=1 timeout $(((duration + 150) * ${SOAK_ROUNDS:-1} + 150)) .build/venv/bin/python scripts/lib/soak.py "$urls" "http://127.0.0.1:${usher_ports[0]}" \
  "$(cat "$work/keys/relay.token")" 4712 "$key" "$secret" "$duration" "$connections" "$all_pids" || rc=$?
for log in "$work"/*.log; do
  count=$(grep -ciE 'warning|error|critical' "$log" || true)
  echo "log $(basename "$log"): $count warning/error lines"
  (( count > 0 )) && grep -iE 'warning|error|critical' "$log" | cut -c1-200 | sort | uniq -c | sort -rn | head -5
done
[[ -n ${KEEP_LOGS:-} ]] && mkdir -p "$KEEP_LOGS" && cp "$work"/*.log "$KEEP_LOGS"/
exit "$rc"
