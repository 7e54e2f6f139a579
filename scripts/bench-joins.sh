#!/usr/bin/env bash
# Presence writes through the relay API (issue #13), with the shared harness ../shared/bench/relay-joins.sh exactly as
# its header says (the instance's keys/ and app; wrk, a new socket and member per join):
#   memory    one `usher serve --threads 1` on the memory store: single join calls, then BATCH=100.
#   postgres  two `usher serve --threads 1` instances on one throwaway PostgreSQL 15 cluster: `pgbench -N` (8 clients)
#             on the same cluster first, as the same-run baseline; then single calls and BATCH=100 through both
#             instances, each while a probe joins on instance A every 5 ms and times each member_added on B's SSE.
# Usage: scripts/bench-joins.sh [memory|postgres] (default both). DURATION (default 10s) goes to relay-joins.sh;
# SKIP_BUILD=1 uses .build/release/usher as it is; PERF_DATA=FILE records a system-wide profile of the PostgreSQL
# BATCH=100 phase. Prints every figure with the command that produced it.
set -euo pipefail
cd "$(dirname "$0")/.."
harness=$(cd .. && pwd)/shared/bench/relay-joins.sh
[[ -x $harness || -f $harness ]] || { echo "bench-joins: no $harness" >&2; exit 1; }
modes=("${@:-memory}"); (($#)) || modes=(memory postgres)
scripts/bootstrap.sh --test
[[ -n ${SKIP_BUILD:-} ]] || swift build -c release --product usher >/dev/null
usher=.build/release/usher
export DURATION=${DURATION:-10s}

# The same-run baseline for the memory store: `POST /pusher/auth` (--dev, anonymous, private channel) on its own
# `usher serve --threads 1`, wrk -t1 -c32 for DURATION, as Usher CPU µs per request. This shared machine's speed
# drifts from run to run; the join's cost is reported against this one.
calibrate() {
  local port pid ticks0 ticks1 requests
  port=$((20000 + RANDOM % 10000))
  "$usher" serve --dev --keys "$1/dev-keys" --port "$port" --threads 1 --log-level warning >"$1/dev.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
  printf 'wrk.method = "POST"\nwrk.body = "socket_id=1234.1234&channel_name=private-bench"\n' >"$1/auth.lua"
  printf 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n' >>"$1/auth.lua"
  ticks0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  requests=$(wrk -t1 -c32 -d"$DURATION" -s "$1/auth.lua" "http://127.0.0.1:$port/pusher/auth" | awk '/requests in/{print $1}')
  ticks1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  auth_us=$(awk -v t=$((ticks1 - ticks0)) -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", t / hz * 1e6 / n}')
  echo "-- baseline (same run): POST /pusher/auth --dev, wrk -t1 -c32: $requests requests, server cpu $auth_us us/request"
}

run_memory() {
  local work port pid
  work=$(mktemp -d); port=$((20000 + RANDOM % 10000))
  "$usher" apps create --id 4712 --keys "$work/keys" --json >/dev/null
  "$usher" serve --keys "$work/keys" --port "$port" --threads 1 --log-level warning >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
  echo "== memory store, one instance (--threads 1), $(nproc) cores"
  calibrate "$work"
  echo "-- single calls: bash $harness KEYS 4712 http://127.0.0.1:PORT"
  bash "$harness" "$work/keys" 4712 "http://127.0.0.1:$port"
  echo "-- BATCH=100"
  BATCH=100 bash "$harness" "$work/keys" 4712 "http://127.0.0.1:$port"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  grep -iE "error|warning" "$work/serve.log" | head -5 || true
  rm -rf "$work"
}

# Joins on A (one every 5 ms, a channel of their own) timed until member_added arrives on B's stream; runs in the
# background for $1 seconds and prints p50/p99/max.
probe() {
  python3 - "$work" "${ports[0]}" "${ports[1]}" "$1" <<'PY' &
import http.client, sys, threading, time
sys.path.insert(0, "scripts/lib"); from relay_bench import Relay
work, port_a, port_b, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
relay, seen, lock = Relay(work), {}, threading.Lock()
prefix = f"p{time.monotonic_ns()}-"
relay.follow(port_b, "member_added", seen, lock, prefix=prefix)
connection, sent, answered, n = http.client.HTTPConnection("127.0.0.1", port_a), {}, [], 0
stop = time.monotonic() + seconds
while time.monotonic() < stop:
    user = f"{prefix}{n}"; sent[user] = time.monotonic()
    relay.join(connection, "probe", f"77.{time.monotonic_ns()}", "presence-probe", user)
    answered.append((time.monotonic() - sent[user]) * 1000)
    n += 1; time.sleep(0.005)
deadline = time.monotonic() + 5
while time.monotonic() < deadline and len(seen) < len(sent): time.sleep(0.05)
latencies = sorted((seen[u] - sent[u]) * 1000 for u in sent if u in seen)
answered.sort()
pick = lambda values, q: values[min(len(values) - 1, int(q * len(values)))]
print(f"   probe: join on A -> member_added on B's SSE during the load ({len(latencies)}/{len(sent)} seen): "
      f"p50 {pick(latencies, 0.5):.1f} ms, p99 {pick(latencies, 0.99):.1f} ms, max {latencies[-1]:.1f} ms; "
      f"the join's answer on A: p50 {pick(answered, 0.5):.1f} ms, p99 {pick(answered, 0.99):.1f} ms")
PY
  probe_pid=$!
}

run_postgres() {
  source scripts/lib/postgres-bench.sh
  pg_bench_start "grace_ms: 0"
  local pgbin=/usr/lib/postgresql/15/bin bench_db="pgbench_$RANDOM" seconds=${DURATION%s}
  psql -q "$USHER_TEST_POSTGRES_URL" -c "CREATE DATABASE $bench_db"
  "$pgbin/pgbench" -q -i -s 10 "${USHER_TEST_POSTGRES_URL%/*}/$bench_db" >/dev/null 2>&1
  echo "== PostgreSQL $(psql -tA "$url" -c 'SHOW server_version'), two instances (--threads 1 each), $(nproc) cores"
  echo "-- baseline: pgbench -N -c 8 -j 2 -T $seconds (same cluster, same run)"
  "$pgbin/pgbench" -N -c 8 -j 2 -T "$seconds" "${USHER_TEST_POSTGRES_URL%/*}/$bench_db" 2>/dev/null | grep -E "^tps|latency average"
  local urls=("http://127.0.0.1:${ports[0]}" "http://127.0.0.1:${ports[1]}")
  echo "-- single calls: bash $harness KEYS 4712 URL_A URL_B"
  probe "$seconds"
  bash "$harness" "$work/keys" 4712 "${urls[@]}"
  wait "$probe_pid"
  echo "-- BATCH=100"
  probe "$seconds"
  # PERF_DATA=FILE: a system-wide profile of this phase (perf record -a -g), for `perf report -i FILE --sort comm,dso`.
  ${PERF_DATA:+perf record -q -a -g -o "$PERF_DATA" --} env BATCH=100 bash "$harness" "$work/keys" 4712 "${urls[@]}"
  wait "$probe_pid"
  # Every statement of a group should reach rows through their keys: sequential scans of these tables mean a plan that
  # costs O(table) per group.
  echo "-- the instances' tables after both phases (seq_tup_read: rows read by sequential scans)"
  psql -q "$url" -c "SELECT relname, n_live_tup, seq_scan, seq_tup_read, idx_scan FROM pg_stat_user_tables
    WHERE relname LIKE 'usher%' ORDER BY relname" | sed 's/^/   /'
  grep -ihE "error|warning" "$work"/a.log "$work"/b.log | head -5 || true
}

for mode in "${modes[@]}"; do
  case $mode in
    memory) run_memory ;;
    postgres) (run_postgres) ;;
    *) echo "bench-joins: unknown mode $mode (memory or postgres)" >&2; exit 2 ;;
  esac
done
