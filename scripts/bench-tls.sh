#!/usr/bin/env bash
# What TLS costs `POST /pusher/auth`: the shared harness ../shared/bench/compare-auth.sh (wrk against Usher and the
# Node peer, same run) against `usher serve --dev --threads 1` over plain http, then over https (a throwaway
# certificate made here with openssl; wrk keeps its connections, so this is the steady-state cost of TLS records, not
# of handshakes). Prints both runs and the https/http ratios of Usher's CPU per request and of req/s.
# Usage: scripts/bench-tls.sh [ROUNDS] (default 3). SKIP_BUILD=1 uses .build/release/usher as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
harness=$(cd .. && pwd)/shared/bench/compare-auth.sh
rounds=${1:-3}
scripts/bootstrap.sh --test
[[ -n ${SKIP_BUILD:-} ]] || swift build -c release --product usher >/dev/null
usher=.build/release/usher
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
serve() { # PORT [TLS FLAGS...]
  local port=$1; shift
  "$usher" serve --dev --keys "$work/keys-$port" --port "$port" --threads 1 --log-level warning "$@" >"$work/serve-$port.log" 2>&1 &
  for _ in $(seq 100); do curl -skf "$([[ $# -gt 0 ]] && echo https || echo http)://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.05; done
  echo "usher did not start on $port" >&2; exit 1
}
plain=$((20000 + RANDOM % 5000)); secure=$((25000 + RANDOM % 5000))
serve "$plain"
serve "$secure" --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
echo "== http:  bash $harness http://127.0.0.1:PORT/pusher/auth private-chat $rounds"
bash "$harness" "http://127.0.0.1:$plain/pusher/auth" private-chat "$rounds" | tee "$work/http.txt"
echo "== https: bash $harness https://127.0.0.1:PORT/pusher/auth private-chat $rounds"
bash "$harness" "https://127.0.0.1:$secure/pusher/auth" private-chat "$rounds" | tee "$work/https.txt"
