#!/usr/bin/env bash
# The whole test suite: installs missing packages, builds, starts a throwaway PostgreSQL cluster (scripts/postgres.sh;
# removed on exit) for the multi-instance store tests, runs the Swift tests (unit + HTTP over loopback) and the Python
# compatibility tests that drive a real `usher serve` with the real Pusher SDK and PyJWT.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
swift build --build-tests
# Not `eval "$(…)"`: that would hide a failed start (and skip every Postgres test while staying green).
pg_env=$(scripts/postgres.sh start)
eval "$pg_env"
: "${USHER_TEST_POSTGRES_URL:?PostgreSQL did not start}"
trap 'scripts/postgres.sh stop "${USHER_TEST_POSTGRES_DIR:-}"' EXIT
export USHER_TEST_POSTGRES_URL USHER_TEST_POSTGRES_DIR
swift test --skip-build --parallel --num-workers 2
USHER_BIN="$(swift build --show-bin-path)/usher" .build/venv/bin/python -m pytest -q Tests/compat
