#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks, under a temp dir, run as the `postgres` user, listening on
# a free loopback port and a unix socket in the same dir. Trust auth on loopback only: it never outlives the tests.
#
#   eval "$(scripts/postgres.sh start)"   # exports USHER_TEST_POSTGRES_URL and USHER_TEST_POSTGRES_DIR
#   scripts/postgres.sh stop "$USHER_TEST_POSTGRES_DIR"
#   scripts/postgres.sh restart "$USHER_TEST_POSTGRES_DIR"   # fast stop + start, same port (fault tests)
set -euo pipefail
bin=${USHER_PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x $bin/initdb ]] || { echo "postgres.sh: no PostgreSQL 15 in $bin (apt-get install postgresql)" >&2; exit 1; }

as_postgres() {
  if [[ $(id -un) == postgres ]]; then "$@"; elif [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
  local dir port
  dir=$(mktemp -d /tmp/usher-pg.XXXXXX)
  port=$(free_port)
  [[ $(id -u) -eq 0 && $(id -un) != postgres ]] && chown postgres: "$dir"
  as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
  run "$dir"
  echo "export USHER_TEST_POSTGRES_DIR=$dir"
  echo "export USHER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
}

# Starts (or restarts) the cluster in $1 on its recorded port; fsync off and a short checkpoint: data is disposable.
run() {
  local dir=$1 port
  port=$(cat "$dir/port")
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { tail -20 "$dir/server.log" >&2; exit 1; }
}

stop() {
  local dir=${1:?usage: postgres.sh stop DIR}
  [[ -d $dir/data ]] || return 0
  as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case ${1:-} in
  start) start ;;
  stop) stop "${2:-${USHER_TEST_POSTGRES_DIR:-}}" ;;
  restart)
    dir=${2:?usage: postgres.sh restart DIR}
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    run "$dir"
    ;;
  halt) as_postgres "$bin/pg_ctl" -D "${2:?usage: postgres.sh halt DIR}/data" -m fast -w stop >/dev/null ;;
  resume) run "${2:?usage: postgres.sh resume DIR}" ;;
  *) echo "usage: postgres.sh start|stop DIR|restart DIR|halt DIR|resume DIR" >&2; exit 2 ;;
esac
