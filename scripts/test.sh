#!/usr/bin/env bash
# The whole test suite: installs missing packages, builds, starts a throwaway PostgreSQL cluster (scripts/postgres.sh;
# removed on exit) for the multi-instance store tests, runs the Swift tests (unit + HTTP over loopback), the Python
# compatibility tests that drive a real `usher serve` with the real Pusher SDK and PyJWT, and a short run of every fuzz
# target (scripts/fuzz.sh; USHER_FUZZ_SECONDS=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
# Coverage-guided fuzzing (docs/fuzzing.md) runs every libFuzzer target for USHER_FUZZ_SECONDS (default 20; 0 skips
# it) at the end. Its sanitized release build (.build-fuzz) needs about 22 CPU-minutes from a fresh clone, as in CI: it
# starts now, at the lowest priority, and takes the CPU the build and the tests leave idle.
fuzz_seconds=${USHER_FUZZ_SECONDS:-20}
fuzz_build=
# Every process below `pid`.
descendants() {
    local child
    for child in $(pgrep -P "$1"); do echo "$child"; descendants "$child"; done
}
if [ "$fuzz_seconds" != 0 ]; then
    mkdir -p .build-fuzz
    USHER_FUZZ_NICE=19 scripts/fuzz.sh 0 >.build-fuzz/build.log 2>&1 &
    fuzz_build=$!
    # SwiftPM starts its compilers at niceness 0 whatever its own: renice them each second, or the build takes half
    # the CPU from the main build and the tests (the main build then took three times as long).
    (
        while kill -0 "$fuzz_build" 2>/dev/null; do
            renice -n 19 -p $(descendants "$fuzz_build") >/dev/null 2>&1 || true
            sleep 1
        done
    ) &
fi
cleanup() {
    if [ -n "$fuzz_build" ]; then
        pkill -TERM -P "$fuzz_build" 2>/dev/null || true
        kill $(descendants "$fuzz_build") "$fuzz_build" 2>/dev/null || true
    fi
    scripts/postgres.sh stop "${USHER_TEST_POSTGRES_DIR:-}"
}
trap cleanup EXIT
swift build --build-tests
# Not `eval "$(…)"`: that would hide a failed start (and skip every Postgres test while staying green).
pg_env=$(scripts/postgres.sh start)
eval "$pg_env"
: "${USHER_TEST_POSTGRES_URL:?PostgreSQL did not start}"
export USHER_TEST_POSTGRES_URL USHER_TEST_POSTGRES_DIR
# The Swift tests take one to two minutes here. This session's runs have seen the test process stop for good, every
# thread idle and tests pending (a stall not yet understood: docs/design.md, "Test suite"), in about a third of
# runs: after 8 minutes it is killed and the Swift tests run again, saying so, at most three times in all.
swift_tests() {
    local status=0
    timeout --kill-after=30 480 swift test --skip-build --parallel --num-workers 2 || status=$?
    # A stalled test process ignores the TERM that timeout sends: make sure it is gone before anything else runs.
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then pkill -KILL -f 'UsherPackageTests\.xctest' || true; fi
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
if [ -n "$fuzz_build" ]; then
    status=0
    wait "$fuzz_build" || status=$?
    fuzz_build=
    if [ "$status" -ne 0 ]; then tail -n 40 .build-fuzz/build.log; echo "test.sh: the fuzz build failed" >&2; exit "$status"; fi
    # Fails on any crash, leak, timeout or broken property, replaying every past finding (Fuzz/Findings/).
    scripts/fuzz.sh "$fuzz_seconds"
fi
