# Shared set-up for the benchmarks of two `usher serve --store postgres://…` instances (source it from the
# repository root after setting $usher to the binary).
# pg_bench_start RELAY_YAML: a throwaway cluster unless USHER_TEST_POSTGRES_URL names one, a fresh database ($url),
#   app 4712 in $work/keys ($work/app.json has its credentials), and instances A and B on ports ${ports[0]} and
#   ${ports[1]} (`--threads 1`), with the `relay:` settings RELAY_YAML (e.g. "grace_ms: 0"), a pool of 8 and room for
#   a million members (and the store's `timeout_ms` PG_BENCH_STORE_TIMEOUT_MS when set). Everything is stopped and
#   removed on exit.

pg_bench_start() {
  work=$(mktemp -d); pids=(); own_cluster=
  trap pg_bench_cleanup EXIT
  if [[ -z ${USHER_TEST_POSTGRES_URL:-} ]]; then
    eval "$(scripts/postgres.sh start)"
    own_cluster=$USHER_TEST_POSTGRES_DIR
  fi
  local db="usher_bench_$RANDOM$RANDOM"
  psql -q "$USHER_TEST_POSTGRES_URL" -c "CREATE DATABASE $db"
  url="${USHER_TEST_POSTGRES_URL%/*}/$db"
  "$usher" apps create --id 4712 --keys "$work/keys" --json >"$work/app.json"
  printf 'relay: { %s }\nstore:\n  pool_size: 8\n%sapps:\n  - id: "4712"\n    presence:\n      max_members: 1000000\n' "$1" \
    "${PG_BENCH_STORE_TIMEOUT_MS:+  timeout_ms: $PG_BENCH_STORE_TIMEOUT_MS
}" >"$work/usher.yaml"
  ports=()
  local name port
  for name in a b; do
    port=$((20000 + RANDOM % 10000)); ports+=("$port")
    "$usher" serve --config "$work/usher.yaml" --keys "$work/keys" --port "$port" --threads 1 --store "$url" \
      --log-level warning >"$work/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
  done
}

# Whether PID is alive (an exited child this shell has not reaped yet is a zombie: not running).
pg_bench_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [[ ${stat##*) } != Z* ]]
}

pg_bench_cleanup() {
  # SIGTERM, and SIGKILL what has not exited 5 s later, before the cluster goes: an instance left behind would
  # keep running against a database that is gone.
  local pid left
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    left=(); for pid in "${pids[@]}"; do pg_bench_running "$pid" && left+=("$pid"); done
    ((${#left[@]})) || break
    sleep 0.1
  done
  if ((${#left[@]})); then
    echo "cleanup: ${#left[@]} process(es) still running 5 s after SIGTERM, killed: $(ps -o args= -p "${left[@]}" | cut -c1-60 | tr '\n' ';')" >&2
    kill -9 "${left[@]}" 2>/dev/null || true
  fi
  [[ -n $own_cluster ]] && scripts/postgres.sh stop "$own_cluster"
  rm -rf "$work"
}
