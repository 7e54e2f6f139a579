#!/usr/bin/env bash
# A relay node dies on the PostgreSQL store: how long until its members are gone, and what the other nodes' calls
# wait meanwhile. Two `usher serve --store postgres://…` instances (lease_ms 3000, grace 0) on one local PostgreSQL:
#  1. node "doomed" subscribes NODE_SOCKETS sockets (default 5000), one user each, over 50 presence channels, via A,
#     then falls silent;
#  2. node "alive" keeps joining and leaving through B, one call at a time, timing every call;
#  3. B's /relay/v1/events stream is followed until every doomed member's member_removed has arrived.
# Prints the time from the doomed lease's deadline to the last member_removed, and the alive node's call latency
# (p50/p99/max) while the expiry ran. The lease sweep holds the store's one write lock, so every other write waits
# for it: that wait is the figure to watch.
#  4. node "steady" subscribes the same number of sockets, then resyncs with a full snapshot of them (what a relay
#     sends after a failed call or a lapsed lease): prints how long the snapshot call took and its status.
# Uses the cluster named by USHER_TEST_POSTGRES_URL, or starts a throwaway one with scripts/postgres.sh.
# USHER_BIN picks the binary (default: release build of this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
sockets=${NODE_SOCKETS:-5000}
usher=${USHER_BIN:-}
if [[ -z $usher ]]; then
  swift build -c release --product usher >/dev/null
  usher="$(swift build -c release --show-bin-path)/usher"
fi
source scripts/lib/postgres-bench.sh
pg_bench_start "grace_ms: 0, lease_ms: 3000"
echo "== node death with $sockets sockets, two instances (usher --threads 1 each), PostgreSQL $(psql -tA "$url" -c 'SHOW server_version')"
python3 - "$work" "${ports[0]}" "${ports[1]}" "$sockets" <<'PY'
import http.client, json, multiprocessing, sys, threading, time
sys.path.insert(0, "scripts/lib"); from relay_bench import Relay
work, port_a, port_b, sockets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
relay = Relay(work)
lease = 3.0

def doom(part):
    connection = http.client.HTTPConnection("127.0.0.1", port_a)
    for n in range(part, sockets, 4):
        relay.join(connection, "doomed", f"7.{n}", f"presence-room-{n % 50}", f"d{n}")
    return time.monotonic()

removed, lock = {}, threading.Lock()
relay.follow(port_b, "member_removed", removed, lock, prefix="d")  # the doomed node's users are d<n>

started = time.monotonic()
with multiprocessing.Pool(4) as pool: last_call = max(pool.map(doom, range(4)))
print(f"doomed node: {sockets} sockets subscribed in {last_call - started:.1f}s, then silent")

calls, failures, n = [], 0, 0
connection = http.client.HTTPConnection("127.0.0.1", port_b)
stop = last_call + lease + 30
while time.monotonic() < stop:
    n += 1
    socket_id, channel = f"8.{n}", f"presence-room-{n % 50}"
    # A 503 is Usher's answer when a write waited past its 2 s timeout for the lock.
    for step in (lambda: relay.join(connection, "alive", socket_id, channel, f"a{n}", False),
                 lambda: relay.leave(connection, socket_id, channel, False)):
        t0 = time.monotonic()
        failures += step() != 200
        calls.append((t0, (time.monotonic() - t0) * 1000))
    with lock: done = len(removed) == sockets
    if done and time.monotonic() > max(removed.values()) + 1: break
with lock: seen = dict(removed)
deadline = last_call + lease
if len(seen) < sockets:
    print(f"only {len(seen)}/{sockets} member_removed seen within 30 s of the lease deadline")
else:
    print(f"lease deadline -> last member_removed on B's stream: {max(seen.values()) - deadline:.2f} s "
          f"(first after {min(seen.values()) - deadline:.2f} s)")
window = sorted(ms for t, ms in calls if deadline - 0.5 <= t <= max(seen.values(), default=deadline) + 0.5)
if window:
    pick = lambda q: window[min(len(window) - 1, int(q * len(window)))]
    print(f"alive node's join/leave calls through B meanwhile ({len(window)}): p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, "
          f"max {window[-1]:.1f} ms; calls answered 503 (lock wait past 2 s): {failures}")

def steady(part):
    connection = http.client.HTTPConnection("127.0.0.1", port_a)
    for n in range(part, sockets, 4):
        relay.join(connection, "steady", f"9.{n}", f"presence-room-{n % 50}", f"s{n}")
with multiprocessing.Pool(4) as pool: pool.map(steady, range(4))
snapshot = json.dumps({"subscriptions": [
    {"app": relay.app["id"], "socket_id": f"9.{n}", "channel": f"presence-room-{n % 50}", "channel_data": json.dumps({"user_id": f"s{n}"})}
    for n in range(sockets)]})
connection = http.client.HTTPConnection("127.0.0.1", port_b, timeout=120)
t0 = time.monotonic()
status = relay.call(connection, "PUT", "/relay/v1/nodes/steady/sockets", snapshot, False)
print(f"full snapshot of {sockets} known subscriptions: {(time.monotonic() - t0) * 1000:.0f} ms, status {status}")
PY
