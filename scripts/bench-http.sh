#!/usr/bin/env bash
# HTTP load comparison against the peer baseline (../shared/bench/node-auth.js) with ../shared/bench/compare-auth.sh:
#   1. private channel with an HS256 identity token   2. presence channel (same token)   3. --dev anonymous
# Builds release, runs `usher serve --threads ${THREADS:-1}` on loopback (one event loop: on 2 cores wrk needs the
# other), and prints compare-auth.sh's rounds and median ratios. ROUNDS (default 3) and DURATION (default 8s) apply.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${USHER_BENCH_DIR:-../shared/bench}
rounds=${ROUNDS:-3}; threads=${THREADS:-1}
source scripts/lib/bench.sh
bench_prepare
bench_hs256_app bench
"$usher" apps create --id dev --name dev --keys "$work/dev-keys" >/dev/null
token=$(python3 - "$secret" <<'PY'
import base64, hashlib, hmac, json, sys, time
enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = enc(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = enc(json.dumps({"sub": "bench-user", "user_info": {"name": "User"}, "exp": int(time.time()) + 7200}).encode())
sig = hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
print(f"{head}.{body}.{enc(sig)}")
PY
)
start() { # PORT ARGS... ; waits for /healthz
  local port=$1; shift
  "$usher" serve --host 127.0.0.1 --port "$port" --threads "$threads" --log-level warning "$@" >"$work/serve-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  echo "bench-http: usher did not start" >&2; cat "$work/serve-$port.log" >&2; exit 1
}
port=$((20000 + RANDOM % 10000)); dev_port=$((port + 1))
start "$port" --config "$work/usher.yaml" --keys "$work/keys"
start "$dev_port" --dev --keys "$work/dev-keys"
echo "== private channel, HS256 identity token (usher --threads $threads)"
AUTH_HEADER="Authorization: Bearer $token" "$bench/compare-auth.sh" "http://127.0.0.1:$port/pusher/auth" private-chat "$rounds"
echo "== presence channel, HS256 identity token (usher --threads $threads)"
AUTH_HEADER="Authorization: Bearer $token" "$bench/compare-auth.sh" "http://127.0.0.1:$port/pusher/auth" presence-room "$rounds"
echo "== --dev anonymous, private channel (usher --threads $threads)"
"$bench/compare-auth.sh" "http://127.0.0.1:$dev_port/pusher/auth" private-chat "$rounds"
for pid in "${pids[@]}"; do echo "usher pid $pid RSS at end: $(awk '/VmRSS/{print $2" "$3}' /proc/$pid/status)"; done
