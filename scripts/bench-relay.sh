#!/usr/bin/env bash
# Relay load (issue #8): CONNECTIONS (default 10000) concurrent WebSocket clients on one `usher relay` node, each
# subscribing to one of CHANNELS (default 100) presence channels; reports join-to-member_added p50/p99 and the
# relay's memory per connection (RSS delta / connections). Builds release (or uses USHER_BIN), runs `usher serve`
# and one relay, and drives them with Benchmarks/scripts/relay_load.py (asyncio `websockets` from the test venv).
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${CONNECTIONS:-10000}; channels=${CHANNELS:-100}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) > conns + 1000 )) || { echo "bench-relay: ulimit -n $(ulimit -n) is too low for $conns connections" >&2; exit 1; }
scripts/bootstrap.sh --test
if [[ -z ${USHER_BIN:-} ]]; then
  swift build -c release --product usher >/dev/null
  USHER_BIN="$(swift build -c release --show-bin-path)/usher"
fi
work=$(mktemp -d); pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
"$USHER_BIN" apps create --id 4712 --keys "$work/keys" --json >"$work/app.json"
usher_port=$((20000 + RANDOM % 10000)); relay_port=$((usher_port + 1))
"$USHER_BIN" serve --keys "$work/keys" --port "$usher_port" --threads 1 --log-level warning >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$usher_port/healthz" >/dev/null && break; sleep 0.1; done
"$USHER_BIN" relay --usher "http://127.0.0.1:$usher_port" --keys "$work/keys" --port "$relay_port" --node bench-relay \
  --threads "${RELAY_THREADS:-1}" --log-level warning >"$work/relay.log" 2>&1 &
relay_pid=$!; pids+=("$relay_pid")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$relay_port/healthz" >/dev/null && break; sleep 0.1; done
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$work/app.json")
secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$work/app.json")
echo "== $conns connections, $channels presence channels, one relay node (--threads ${RELAY_THREADS:-1}), $(nproc) cores"
.build/venv/bin/python Benchmarks/scripts/relay_load.py "ws://127.0.0.1:$relay_port/app/$key?protocol=7&client=bench&version=1" \
  "$key" "$secret" "$relay_pid" "$conns" "$channels"
echo "relay /healthz: $(curl -sf "http://127.0.0.1:$relay_port/healthz")"
grep -iE "error|warning" "$work/relay.log" | head -5 || true
