#!/usr/bin/env bash
# Two `usher serve --store postgres://…` instances on one local PostgreSQL (issue #7):
#  1. join+leave relay calls per second through both instances at once (WORKERS processes, half per instance, each
#     joining a fresh socket to one of 50 presence channels and leaving it again, for DURATION seconds);
#  2. join-to-SSE latency across instances: joins sent to instance A (JOINS of them, one every 5 ms), timed until
#     the member_added event arrives on instance B's /relay/v1/events stream; prints p50/p99/max.
# Uses the cluster named by USHER_TEST_POSTGRES_URL, or starts a throwaway one with scripts/postgres.sh.
# BUILD=debug benchmarks the debug binary (numbers then not comparable); SKIP_BUILD=1 uses the binary as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-8}; workers=${WORKERS:-8}; joins=${JOINS:-1000}; build=${BUILD:-release}
[[ -n ${SKIP_BUILD:-} ]] || swift build -c "$build" --product usher >/dev/null
usher=".build/$build/usher"
source scripts/lib/postgres-bench.sh
pg_bench_start "grace_ms: 0"
echo "== two instances (usher --threads 1 each) on PostgreSQL $(psql -tA "$url" -c 'SHOW server_version'), $workers workers, ${duration}s"
python3 - "$work" "${ports[0]}" "${ports[1]}" "$duration" "$workers" "$joins" <<'PY'
import http.client, multiprocessing, sys, threading, time
sys.path.insert(0, "scripts/lib"); from relay_bench import Relay
work, port_a, port_b, duration, workers, joins = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
relay = Relay(work)

def worker(index):
    connection = http.client.HTTPConnection("127.0.0.1", port_a if index % 2 == 0 else port_b)
    count, n, stop = 0, 0, time.monotonic() + duration
    while time.monotonic() < stop:
        n += 1
        socket_id, channel = f"{index + 1}.{n}", f"presence-bench-{n % 50}"
        relay.join(connection, "bench", socket_id, channel, f"w{index}-{n}")
        relay.leave(connection, socket_id, channel)
        count += 2
    return count

with multiprocessing.Pool(workers) as pool:
    started = time.monotonic(); counts = pool.map(worker, range(workers)); elapsed = time.monotonic() - started
print(f"join+leave through A and B: {sum(counts) / elapsed:,.0f} relay calls/s ({sum(counts) // 2} pairs in {elapsed:.1f}s)")

# Latency: follow B's stream, join on A.
seen, lock = {}, threading.Lock()
relay.follow(port_b, "member_added", seen, lock)
connection, sent = http.client.HTTPConnection("127.0.0.1", port_a), {}
for n in range(joins):
    user = f"lat{n}"; sent[user] = time.monotonic()
    relay.join(connection, "bench", f"99.{n}", "presence-latency", user)
    time.sleep(0.005)
deadline = time.monotonic() + 10
while time.monotonic() < deadline and len(seen) < joins: time.sleep(0.05)
latencies = sorted((seen[u] - sent[u]) * 1000 for u in sent if u in seen)
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"join on A -> member_added on B's SSE ({len(latencies)}/{joins} seen): p50 {pick(0.5):.2f} ms, p99 {pick(0.99):.2f} ms, max {latencies[-1]:.2f} ms")
PY
