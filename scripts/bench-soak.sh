#!/usr/bin/env bash
# Memory under sustained load: `usher serve` (release, --threads ${THREADS:-1}) answers POST /pusher/auth for
# DURATION seconds (default 600) from wrk, with 20,000 distinct HS256 identity tokens (twice the verified-token
# cache's capacity, so it fills, evicts and refills) and a fresh socket_id and channel on every request.
# Prints RSS idle before load, then every 60 s, then after load; growth after the first minute means a leak.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-600}; threads=${THREADS:-1}
source scripts/lib/bench.sh
bench_prepare
bench_hs256_app soak
python3 - "$secret" "$duration" > "$work/soak.lua" <<'PY'
import base64, hashlib, hmac, json, sys, time
enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
secret, duration = sys.argv[1].encode(), int(sys.argv[2])
head = enc(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
print("local tokens = {")
for i in range(20000):
    body = enc(json.dumps({"sub": f"user-{i}", "user_info": {"name": f"User {i}"}, "exp": int(time.time()) + duration + 3600}).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    print(f'  "{head}.{body}.{enc(sig)}",')
print("}")
print('''
local n = 0
request = function()
  n = n + 1
  local channel = (n % 2 == 0) and "private-soak-" or "presence-soak-"
  local body = "socket_id=" .. (n % 1000000) .. "." .. (n % 7919) .. "&channel_name=" .. channel .. (n % 5000)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
  }, body)
end
''')
PY
port=$((20000 + RANDOM % 10000))
"$usher" serve --config "$work/usher.yaml" --keys "$work/keys" --host 127.0.0.1 --port "$port" --threads "$threads" \
  --log-level warning >"$work/serve.log" 2>&1 &
pid=$!; pids+=($pid)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/{print $2}' "/proc/$pid/status"; }
echo "idle RSS: $(rss) kB"
wrk -t1 -c64 -d"${duration}s" -s "$work/soak.lua" "http://127.0.0.1:$port/pusher/auth" >"$work/wrk.out" &
wrk_pid=$!; pids+=($wrk_pid)
for ((t = 60; t <= duration; t += 60)); do
  sleep 60
  echo "t=${t}s RSS: $(rss) kB"
done
wait "$wrk_pid" || true
grep -E 'requests in|Requests/sec|Non-2xx' "$work/wrk.out" || cat "$work/wrk.out"
echo "after load RSS: $(rss) kB"
sleep 5
echo "5 s later RSS: $(rss) kB"
