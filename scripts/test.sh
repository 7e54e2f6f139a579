#!/usr/bin/env bash
# The whole test suite: installs missing packages, builds, starts a throwaway PostgreSQL cluster (scripts/postgres.sh;
# removed on exit) for the multi-instance store tests, runs the Swift tests (unit + HTTP over loopback), the Python
# compatibility tests that drive a real `usher serve` with the real Pusher SDK and PyJWT, and a short run of every fuzz
# target (scripts/fuzz.sh; USHER_FUZZ_SECONDS=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
swift_log=$(mktemp)
trap 'rm -f "$swift_log"; scripts/postgres.sh stop "${USHER_TEST_POSTGRES_DIR:-}"' EXIT
swift build --build-tests
# Not `eval "$(…)"`: that would hide a failed start (and skip every Postgres test while staying green).
pg_env=$(scripts/postgres.sh start)
eval "$pg_env"
: "${USHER_TEST_POSTGRES_URL:?PostgreSQL did not start}"
export USHER_TEST_POSTGRES_URL USHER_TEST_POSTGRES_DIR
# The Swift tests take one to two minutes here. This session's runs have seen the test process stop for good, every
# thread idle and tests pending (a stall not yet understood: docs/design.md, "Test suite"), in about a third of
# runs: after 8 minutes it is killed, the tests that had started and not ended are listed, and the Swift tests run
# again, saying so, at most three times in all.
swift_tests() {
    local status
    set +e
    timeout --kill-after=30 480 swift test --skip-build --parallel --num-workers 2 2>&1 | tee "$swift_log"
    status=${PIPESTATUS[0]}
    set -e
    # A stalled test process ignores the TERM that timeout sends: make sure it is gone before anything else runs.
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        pkill -KILL -f 'UsherPackageTests\.xctest' || true
        # What had started and not ended, oldest first (the output is buffered: the last ones may have ended).
        printf "\ntest.sh: tests started and not finished when the run stalled, oldest first:\n" >&2
        sed -n 's/^◇ Test \(.*\) started\.$/\1/p' "$swift_log" | grep -vxE 'run|case .*' | while IFS= read -r name; do
            grep -qE "^. Test $(printf '%s' "$name" | sed 's/[][\.*^$()+?{}|/]/\\&/g')( with [0-9]+ test cases?)? (passed|failed|skipped)" "$swift_log" \
                || echo "  $name"
        done | head -40 >&2
    fi
    return "$status"
}
for attempt in 1 2 3; do
    status=0
    swift_tests || status=$?
    if [ "$status" -ne 124 ] && [ "$status" -ne 137 ]; then break; fi
    echo "test.sh: the Swift test process stalled for 8 minutes (attempt $attempt of 3)" >&2
done
if [ "$status" -ne 0 ]; then exit "$status"; fi
USHER_BIN="$(swift build --show-bin-path)/usher" .build/venv/bin/python -m pytest -q Tests/compat
# Coverage-guided fuzzing (docs/fuzzing.md): every libFuzzer target for USHER_FUZZ_SECONDS (default 20; 0 skips it)
# from its seeds and past findings (Fuzz/Findings/), failing on any crash, leak, timeout or broken property. Its
# sanitized release build (.build-fuzz) takes about 16 minutes from a fresh clone, as in CI. It runs last, on its own:
# built alongside the tests, even at the lowest priority, it made the Swift test process stall (docs/design.md).
fuzz_seconds=${USHER_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ]; then scripts/fuzz.sh "$fuzz_seconds"; fi
