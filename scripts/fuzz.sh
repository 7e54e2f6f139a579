#!/usr/bin/env bash
# Coverage-guided fuzzing of Usher's parsers of untrusted bytes with libFuzzer (docs/fuzzing.md): builds the Fuzz/
# package (one executable, sanitized with -sanitize=fuzzer,address, in its own scratch path) and runs each target for
# SECONDS (default 30), starting from its seed corpus in Fuzz/Corpus/<target>/ and the inputs of past findings in
# Fuzz/Findings/<target>/ (so each run replays them). Inputs libFuzzer finds go to
# $USHER_FUZZ_WORK (default .build-fuzz/work), never into the repository.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # every target when none is named; `scripts/fuzz.sh 0` lists them
#   USHER_FUZZ_RUNS=10000000 scripts/fuzz.sh 1800   # each target until 10 million executions or 30 minutes
#   USHER_FUZZ_CONFIG=debug scripts/fuzz.sh 20      # a debug build (test.sh's short runs: built in half the time)
#   USHER_FUZZ_JOBS=1 scripts/fuzz.sh 600           # one target at a time (default: as many as there are cores)
#   USHER_FUZZ_SKIP_BUILD=1 scripts/fuzz.sh 20      # the build as it is (test.sh, after building it in the background)
#
# Prints executions and exec/s per target, and fails (non-zero) when any target crashes, leaks, times out (10 s for
# one input) or runs out of memory, printing the end of its log and the path of the input that did it.
# Installs only what scripts/bootstrap.sh installs (the toolchain's libFuzzer and AddressSanitizer need nothing more).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
if [[ ${1:-} =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
scripts/bootstrap.sh
scratch=${USHER_FUZZ_SCRATCH:-.build-fuzz}
config=${USHER_FUZZ_CONFIG:-release}
[[ $config == release || $config == debug ]] || { echo "fuzz.sh: USHER_FUZZ_CONFIG is release or debug" >&2; exit 2; }
work=${USHER_FUZZ_WORK:-$scratch/work}
started=$(date +%s)
if [[ -z ${USHER_FUZZ_SKIP_BUILD:-} ]]; then
  # SwiftPM re-plans a path dependency's sources only when the manifest changes: a file added to Sources/ since the last
  # fuzz build would be left out of it (and the build fail, or fuzz old code). Re-plan whenever the list of files changed.
  mkdir -p "$scratch"
  files=$(find Sources Fuzz/Sources -type f | LC_ALL=C sort | sha256sum)
  if [[ $files != "$(cat "$scratch/sources.sha256" 2>/dev/null)" ]]; then touch Fuzz/Package.swift; fi
  # -parse-as-library: the executable has no main of its own, libFuzzer's is linked in. Built in a fixed environment:
  # SwiftPM rebuilds everything, dependencies included, when the environment differs from the last build's (and the
  # caller's does: test.sh exports a new PostgreSQL URL on every run).
  # `--sanitize fuzzer --sanitize address` alone is not enough for Swift code: SwiftPM passes them to swiftc as two
  # flags, in an order that changes from build to build, and swiftc keeps only the last `-sanitize=`. Swift objects
  # then had either coverage (no AddressSanitizer) or AddressSanitizer (no coverage: the target fuzzes blind). The
  # combined flag, passed last, gives them both; C targets and the link still get theirs from --sanitize.
  env -i PATH="$PATH" HOME="$HOME" nice -n "${USHER_FUZZ_NICE:-10}" swift build --package-path Fuzz --scratch-path "$scratch" -c "$config" \
    --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --product UsherFuzz
  echo "$files" >"$scratch/sources.sha256"
  echo "fuzz.sh: $config build took $(($(date +%s) - started)) s"
fi
binary="$scratch/$config/UsherFuzz"
[[ -x $binary ]] || { echo "fuzz.sh: no $config build at $binary (USHER_FUZZ_SKIP_BUILD needs one)" >&2; exit 1; }
# Refuse a build whose Swift code lacks either instrumentation (checked on the parsers' own module).
objects=("$scratch/$config"/UsherCrypto.build/*.o)
symbols=$(nm "${objects[@]}" 2>/dev/null || true)
if ! grep -q __sancov <<<"$symbols" || ! grep -q __asan_report <<<"$symbols"; then
  echo "fuzz.sh: the fuzz build's Swift objects lack coverage or AddressSanitizer instrumentation; not fuzzing with it" >&2
  exit 1
fi
# Swift's own crash backtracer can hang under AddressSanitizer: libFuzzer's report is enough. The suppressions name
# only fixtures built once per process (see the file).
export SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=$PWD/Fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
# With no target named, the binary lists its targets (and exits 2).
mapfile -t all < <(USHER_FUZZ_TARGET= "$binary" 2>&1 | awk '/^  [a-z]/ { print $1 }' || true)
if ((seconds == 0)); then { USHER_FUZZ_TARGET= "$binary" 2>&1 || true; } | tail -n +2; exit 0; fi
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
for target in "${targets[@]}"; do
  if [[ ! " ${all[*]} " == *" $target "* ]]; then echo "fuzz.sh: unknown target $target (have: ${all[*]})" >&2; exit 2; fi
done
# Runs one target; its report goes to $work/logs/<target>.report, printed in target order once all have run.
fuzz_target() {
  local target=$1 log="$work/logs/$1.log" report="$work/logs/$1.report" status=0 runs rate corpus
  mkdir -p "$work/corpus/$target" "$work/artifacts/$target" "$work/logs"
  USHER_FUZZ_TARGET=$target nice -n "${USHER_FUZZ_NICE:-10}" "$binary" -max_total_time="$seconds" ${USHER_FUZZ_RUNS:+-runs=$USHER_FUZZ_RUNS} \
    -timeout=10 -rss_limit_mb=4096 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$work/artifacts/$target/" "$work/corpus/$target" "Fuzz/Corpus/$target" \
    $([[ -d Fuzz/Findings/$target ]] && echo "Fuzz/Findings/$target") >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$work/corpus/$target" -type f | wc -l)
  {
    printf 'fuzz.sh: %-15s %10s executions %8s exec/s  %5s inputs in %s' "$target" "${runs:-?}" "${rate:-?}" "$corpus" "$work/corpus/$target"
    if ((status == 0)); then
      echo "  ok"
      # A target that registers no coverage is not being fuzzed (the build check above should make this impossible).
      if grep -q "no interesting inputs were found" "$log"; then
        echo "fuzz.sh: WARNING: $target registered no coverage at all: this build is not fuzzing it (docs/fuzzing.md)"
      fi
    else
      echo "  FAILED (exit $status)"
      grep -E 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|usher-fuzz:|Fatal error|SUMMARY' "$log" | head -5 || true
      tail -n 30 "$log"
      sed -n 's/.*Test unit written to \(.*\)$/fuzz.sh: the input is in \1/p' "$log"
    fi
  } >"$report"
  return "$status"
}
# USHER_FUZZ_JOBS targets at a time (default: one per core); each is one libFuzzer process on one core.
jobs=${USHER_FUZZ_JOBS:-$(nproc)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: USHER_FUZZ_JOBS is a positive number" >&2; exit 2; }
mkdir -p "$work/logs"
declare -A running=()
failed=()
reap() {
  local pid= status=0 target
  wait -n -p pid "${running[@]}" || status=$?
  for target in "${!running[@]}"; do
    [[ ${running[$target]} == "$pid" ]] || continue
    ((status == 0)) || failed+=("$target")
    unset "running[$target]"
  done
}
for target in "${targets[@]}"; do
  rm -f "$work/logs/$target.report"
  while ((${#running[@]} >= jobs)); do reap; done
  fuzz_target "$target" &
  running[$target]=$!
done
while ((${#running[@]})); do reap; done
for target in "${targets[@]}"; do cat "$work/logs/$target.report"; done
echo "fuzz.sh: ${#targets[@]} targets, $seconds s each, $jobs at a time, $(($(date +%s) - started)) s in all (logs in $work/logs)"
if ((${#failed[@]})); then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
