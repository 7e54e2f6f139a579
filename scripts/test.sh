#!/usr/bin/env bash
# The whole test suite: installs missing packages, builds, starts a throwaway PostgreSQL cluster (scripts/postgres.sh;
# removed on exit) for the multi-instance store tests, runs the Swift tests (unit + HTTP over loopback), the Python
# compatibility tests that drive a real `usher serve` with the real Pusher SDK and PyJWT, and a short run of every fuzz
# target (scripts/fuzz.sh; USHER_FUZZ_SECONDS=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
swift_log=$(mktemp)
fuzz_build=  # the background fuzz build's process group, while it runs
trap 'if [ -n "$fuzz_build" ]; then kill -- -"$fuzz_build" 2>/dev/null || true; fi
      rm -f "$swift_log" "$swift_log".*; scripts/postgres.sh stop "${USHER_TEST_POSTGRES_DIR:-}"' EXIT
swift build --build-tests
# Not `eval "$(…)"`: that would hide a failed start (and skip every Postgres test while staying green).
pg_env=$(scripts/postgres.sh start)
eval "$pg_env"
: "${USHER_TEST_POSTGRES_URL:?PostgreSQL did not start}"
export USHER_TEST_POSTGRES_URL USHER_TEST_POSTGRES_DIR
# The Swift tests take one to two minutes here. In about a third of runs the test process stops for good, every thread
# idle and tests pending (docs/design.md, "Test suite": lost sleep wake-ups, it seems). A stalled process uses no CPU
# at all, while a working one always does (its servers' ticks, at least): after USHER_TEST_IDLE_SECONDS (90) without
# a CPU tick, or 8 minutes in all, it is killed, the tests that had started and not ended are listed, and the Swift
# tests run again, saying so, at most three times in all.
stall_watch() {
    local marker=$1 pid last_pid= ticks last= idle=0 limit=${USHER_TEST_IDLE_SECONDS:-90}
    while sleep 5; do
        pid=$(pgrep -f 'UsherPackageTests\.xctest' | head -1) || continue
        ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) || continue
        if [ "$pid" = "$last_pid" ] && [ "$ticks" = "$last" ]; then idle=$((idle + 5)); else idle=0; fi
        last_pid=$pid last=$ticks
        if [ "$idle" -ge "$limit" ]; then
            printf "\ntest.sh: the test process used no CPU for %s s\n" "$idle" >&2
            touch "$marker"
            kill -KILL "$pid" 2>/dev/null || true
            return
        fi
    done
}
swift_tests() {
    local status watcher marker="$swift_log.stalled"
    rm -f "$marker"
    stall_watch "$marker" &
    watcher=$!
    set +e
    timeout --kill-after=30 480 swift test --skip-build --parallel --num-workers 2 2>&1 | tee "$swift_log"
    status=${PIPESTATUS[0]}
    set -e
    kill "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true
    if [ -e "$marker" ]; then status=124; rm -f "$marker"; fi
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
    echo "test.sh: the Swift test process stalled (attempt $attempt of 3)" >&2
done
if [ "$status" -ne 0 ]; then exit "$status"; fi
# Coverage-guided fuzzing (docs/fuzzing.md): every libFuzzer target for USHER_FUZZ_SECONDS (default 20; 0 skips it)
# from its seeds and past findings (Fuzz/Findings/), failing on any crash, leak, timeout or broken property. These
# short runs use a sanitized debug build (.build-fuzz/debug: about 7 minutes from a fresh clone, as in CI, against
# 11–16 for release; USHER_FUZZ_CONFIG=release uses the campaigns' build), made at niceness 19 while the Python tests
# run (they mostly wait on servers and sockets; never while the Swift tests run: alongside them, even at the lowest
# priority, it made the Swift test process stall, docs/design.md). The targets then run one per core.
fuzz_seconds=${USHER_FUZZ_SECONDS:-20}
export USHER_FUZZ_CONFIG=${USHER_FUZZ_CONFIG:-debug}
if [ "$fuzz_seconds" != 0 ]; then
    # Its own process group, so that a failed Python run stops the compilers too.
    USHER_FUZZ_NICE=19 setsid scripts/fuzz.sh 0 >"$swift_log.fuzz-build" 2>&1 &
    fuzz_build=$!
fi
USHER_BIN="$(swift build --show-bin-path)/usher" .build/venv/bin/python -m pytest -q Tests/compat
if [ -n "$fuzz_build" ]; then
    status=0
    wait "$fuzz_build" || status=$?
    fuzz_build=
    cat "$swift_log.fuzz-build"
    if [ "$status" -ne 0 ]; then echo "test.sh: the fuzz build failed" >&2; exit "$status"; fi
    # The build just made, as it is: in one clean-clone run a second `swift build` here re-planned and recompiled
    # every Swift module (4.5 minutes), for reasons not found.
    USHER_FUZZ_SKIP_BUILD=1 scripts/fuzz.sh "$fuzz_seconds"
fi
