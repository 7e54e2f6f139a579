#!/usr/bin/env bash
# Same-run comparison of two usher builds: alternated runs of the shared harness ../shared/bench/relay-joins.sh against
# `usher serve --threads 1` of each build (a fresh instance and keys/ per run), so that the drift of this shared
# machine's speed falls on both sides alike. STORE=postgres runs two instances of each build on one PostgreSQL cluster
# (one fresh database per run; the cluster USHER_TEST_POSTGRES_URL names, or a throwaway one for the whole comparison)
# as scripts/bench-joins.sh does, without its pgbench baseline and member_added probe. A single pair says little here (the same
# build ranges over ±15% from run to run); compare the means of several.
#
#   [STORE=postgres] scripts/ab-joins.sh BIN_A BIN_B [PAIRS] [BATCH]   # PAIRS default 4, BATCH default 100 (1: single calls)
#   e.g. git worktree add /tmp/before HEAD~1 && (cd /tmp/before && swift build -c release --product usher)
#        scripts/ab-joins.sh /tmp/before/.build/release/usher .build/release/usher 6 100
#
# Prints each run's joins/s and Usher CPU µs per join, then each build's range and mean. DURATION (default 10s) goes to
# relay-joins.sh. Needs wrk (installed by the harness) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
harness=$(cd .. && pwd)/shared/bench/relay-joins.sh
[[ -f $harness ]] || { echo "ab-joins: no $harness" >&2; exit 1; }
(($# >= 2)) || { echo "usage: scripts/ab-joins.sh BIN_A BIN_B [PAIRS] [BATCH]" >&2; exit 2; }
builds=("$1" "$2"); pairs=${3:-4}; batch=${4:-100}
for bin in "${builds[@]}"; do [[ -x $bin ]] || { echo "ab-joins: $bin is not executable" >&2; exit 2; }; done
export DURATION=${DURATION:-10s}
store=${STORE:-memory}
[[ $store == memory || $store == postgres ]] || { echo "ab-joins: STORE is memory or postgres" >&2; exit 2; }
results=$(mktemp); cluster=
trap 'rm -f "$results"; [[ -z $cluster ]] || scripts/postgres.sh stop "$cluster"' EXIT
if [[ $store == postgres && -z ${USHER_TEST_POSTGRES_URL:-} ]]; then
  eval "$(scripts/postgres.sh start)"
  cluster=$USHER_TEST_POSTGRES_DIR
fi

# One run of the harness against fresh instances of $1; prints "joins/s us/join".
run() {
  local work port pid line
  if [[ $store == postgres ]]; then
    line=$(
      usher=$1
      source scripts/lib/postgres-bench.sh
      pg_bench_start "grace_ms: 0" >/dev/null
      BATCH=$batch bash "$harness" "$work/keys" 4712 "http://127.0.0.1:${ports[0]}" "http://127.0.0.1:${ports[1]}" | grep '^total:'
    )
    [[ $line != *INVALID* ]] || { echo "ab-joins: some requests failed: $line" >&2; exit 1; }
    awk '{print $2, $(NF-1)}' <<<"$line"
    return
  fi
  work=$(mktemp -d); port=$((20000 + RANDOM % 10000))
  "$1" apps create --id 4712 --keys "$work/keys" --json >/dev/null
  "$1" serve --keys "$work/keys" --port "$port" --threads 1 --log-level warning >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
  line=$(BATCH=$batch bash "$harness" "$work/keys" 4712 "http://127.0.0.1:$port" | grep '^total:')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$work"
  [[ $line != *INVALID* ]] || { echo "ab-joins: some requests failed: $line" >&2; exit 1; }
  awk '{print $2, $(NF-1)}' <<<"$line"  # "total: R joins/s, non-2xx 0, server cpu U us/join"
}

echo "== $pairs alternated pairs, BATCH=$batch, DURATION=$DURATION, $store store, --threads 1, $(nproc) cores"
for i in $(seq "$pairs"); do
  for side in 0 1; do
    read -r rate us < <(run "${builds[$side]}")
    echo "pair $i $([[ $side == 0 ]] && echo A || echo B): $rate joins/s, $us us/join"
    echo "$side $rate $us" >>"$results"
  done
done
for side in 0 1; do
  awk -v s="$side" -v name="$([[ $side == 0 ]] && echo "A ${builds[0]}" || echo "B ${builds[1]}")" '
    $1 == s { n++; r += $2; u += $3; if (n == 1 || $3 < lo) lo = $3; if (n == 1 || $3 > hi) hi = $3 }
    END { printf "%s: %.1f-%.1f us/join, mean %.2f us/join, mean %.0f joins/s (%d runs)\n", name, lo, hi, u / n, r / n, n }' "$results"
done
