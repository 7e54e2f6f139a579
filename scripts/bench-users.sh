#!/usr/bin/env bash
# Signed HTTP API `users` listings per second (issue "HTTP API & webhooks"), for a 100- and a 10,000-member presence
# channel: builds release, runs `usher serve --threads ${THREADS:-1}`, fills two channels through a relay node
# snapshot, signs one GET /apps/{id}/channels/{channel}/users URL per channel as pusher-http-python does (valid for
# the 600 s timestamp window), and runs wrk against each (DURATION default 8s, CONNECTIONS default 16).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-1}; dur=${DURATION:-8s}; conns=${CONNECTIONS:-16}
scripts/bootstrap.sh
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
swift build -c release --product usher >/dev/null
usher="$(swift build -c release --show-bin-path)/usher"
work=$(mktemp -d); pid=
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
"$usher" apps create --id 4711 --keys "$work/keys" --json >"$work/app.json"
port=$((20000 + RANDOM % 10000))
"$usher" serve --keys "$work/keys" --port "$port" --threads "$threads" --log-level warning >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
python3 - "$work" "$port" <<'PY'
import hashlib, hmac, json, sys, time, urllib.request
work, port = sys.argv[1], int(sys.argv[2])
app = json.load(open(f"{work}/app.json")); token = open(f"{work}/keys/relay.token").read().strip()
subs = []
for channel, size in (("presence-small", 100), ("presence-large", 10_000)):
    for i in range(size):
        subs.append({"app": app["id"], "socket_id": f"{size}.{i}", "channel": channel,
                     "channel_data": json.dumps({"user_id": f"user-{i}", "user_info": {"name": f"User {i}"}})})
request = urllib.request.Request(f"http://127.0.0.1:{port}/relay/v1/nodes/bench/sockets", method="PUT",
                                 data=json.dumps({"subscriptions": subs}).encode(), headers={"Authorization": f"Bearer {token}"})
urllib.request.urlopen(request).read()
for channel in ("presence-small", "presence-large"):
    path = f"/apps/{app['id']}/channels/{channel}/users"
    params = {"auth_key": app["key"], "auth_timestamp": str(int(time.time())), "auth_version": "1.0",
              "body_md5": hashlib.md5(b"").hexdigest()}
    query = "&".join(f"{k}={params[k]}" for k in sorted(params))
    signature = hmac.new(app["secret"].encode(), f"GET\n{path}\n{query}".encode(), hashlib.sha256).hexdigest()
    open(f"{work}/{channel}.url", "w").write(f"http://127.0.0.1:{port}{path}?{query}&auth_signature={signature}")
PY
for channel in presence-small presence-large; do
  url=$(cat "$work/$channel.url")
  members=$(curl -sf "$url" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["users"]))')
  echo "== $channel ($members members), usher --threads $threads, wrk -t1 -c$conns -d$dur"
  wrk -t1 -c"$conns" -d"$dur" --latency "$url" | grep -E "Requests/sec|Transfer/sec|50%|99%|Non-2xx"
done
echo "usher RSS at end: $(awk '/VmRSS/{print $2" "$3}' /proc/$pid/status)"
