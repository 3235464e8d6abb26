#!/usr/bin/env bash
# Builds the parsers' libFuzzer targets (tests/fuzz; clang + AddressSanitizer + UBSan, in
# build-fuzz/ with -DMONOROUTE_FUZZ=ON) and runs each with its seed corpus, printing one result
# line per target. See docs/fuzzing.md.
#
#   scripts/fuzz.sh [--parallel N] [SECONDS] [TARGET...]  every (or the named) target for SECONDS
#                                                         (default 600), N at a time (default 1)
#   scripts/fuzz.sh --smoke          build, then CTest label "fuzz": each target for ~10 s
#   scripts/fuzz.sh --run-one TARGET SECONDS     one target, no build (what the CTest entries run)
#
# Environment: MONOROUTE_FUZZ_BUILD_DIR (default build-fuzz), MONOROUTE_JOBS (build and CTest
# parallelism; default: the number of CPUs). New corpus entries go to <build>/fuzz/corpus/<target>
# (the committed seeds in tests/fuzz/corpus/ are only read; tests/fuzz/<target>.dict and
# <target>.flags add a dictionary and extra libFuzzer flags), crash inputs to
# <build>/fuzz/artifacts/<target>/, libFuzzer's output to <build>/fuzz/logs/<target>.log.
# Exit status: 0 when every target ran without a finding, 1 otherwise, 2 on bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."
B="${MONOROUTE_FUZZ_BUILD_DIR:-build-fuzz}"
JOBS="${MONOROUTE_JOBS:-$(nproc)}"

all_targets() {
  for f in tests/fuzz/*_fuzzer.cc; do basename "$f" _fuzzer.cc; done
}

build() {
  if [ ! -f "$B/CMakeCache.txt" ]; then
    cmake -S . -B "$B" -G Ninja -DMONOROUTE_FUZZ=ON -DCMAKE_C_COMPILER=clang \
      -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  nice -n 10 cmake --build "$B" -j"$JOBS"
}

# Value of libFuzzer's final statistic $1 in log $2 (empty if absent).
stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

# Runs target $1 for $2 seconds; prints one line; returns 1 on a finding.
run_one() {
  local t="$1" secs="$2"
  local bin="$B/bin/${t}_fuzzer" work="$B/fuzz/corpus/$t" art="$B/fuzz/artifacts/$t"
  local log="$B/fuzz/logs/$t.log"
  if [ ! -x "$bin" ]; then
    echo "fuzz $t: FAILED: $bin is not built (scripts/fuzz.sh builds it)"
    return 1
  fi
  mkdir -p "$work" "$art" "$(dirname "$log")"
  local args=(-max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$art/")
  if [ -f "tests/fuzz/$t.dict" ]; then args+=(-dict="tests/fuzz/$t.dict"); fi
  if [ -f "tests/fuzz/$t.flags" ]; then
    mapfile -t -O "${#args[@]}" args < <(grep -v -e '^#' -e '^$' "tests/fuzz/$t.flags")
  fi
  local start rc=0
  start=$(date +%s)
  LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="print_stacktrace=1" \
    nice -n 10 "$bin" "${args[@]}" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  local took=$(( $(date +%s) - start ))
  local runs eps added rss cov corp
  runs=$(stat number_of_executed_units "$log")
  eps=$(stat average_exec_per_sec "$log")
  added=$(stat new_units_added "$log")
  rss=$(stat peak_rss_mb "$log")
  cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
  corp=$( (grep -o 'corp: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
  if [ "$rc" = 0 ]; then
    echo "fuzz $t: ok, ${took} s, ${runs:-?} runs (${eps:-?}/s), 0 crashes; corpus ${corp:-?}" \
         "(+${added:-?} new), cov ${cov:-?}, peak RSS ${rss:-?} MB"
    return 0
  fi
  local what input
  what=$(grep -m1 -E 'FUZZ_CHECK failed|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY:' \
         "$log" || true)
  input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
  echo "fuzz $t: CRASH (exit $rc) after ${took} s: ${what:-see log}; input: ${input:-none};" \
       "log: $log"
  return 1
}

case "${1:-}" in
  --run-one)
    [ $# -eq 3 ] || { echo "usage: $0 --run-one TARGET SECONDS" >&2; exit 2; }
    run_one "$2" "$3"
    exit $?
    ;;
  --smoke)
    t0=$(date +%s)
    build
    t1=$(date +%s)
    rc=0
    mkdir -p "$B/fuzz"
    ctest --test-dir "$B" -L fuzz -j"$JOBS" --output-on-failure >"$B/fuzz/smoke.log" 2>&1 || rc=$?
    t2=$(date +%s)
    # One result line per target (from CTest's log); the whole CTest output on a failure.
    grep -h '^fuzz [a-z_]*: ' "$B/Testing/Temporary/LastTest.log" 2>/dev/null || true
    if [ "$rc" != 0 ]; then cat "$B/fuzz/smoke.log"; fi
    echo "fuzz smoke: build $((t1 - t0)) s, run $((t2 - t1)) s ($(all_targets | wc -l) targets)"
    exit $rc
    ;;
esac

parallel=1
if [ "${1:-}" = "--parallel" ]; then
  [ $# -ge 2 ] || { echo "usage: $0 [--parallel N] [SECONDS] [TARGET...]" >&2; exit 2; }
  parallel="$2"
  shift 2
fi
secs=600
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then secs="$1"; shift; fi
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(all_targets); fi
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/${t}_fuzzer.cc" ] || { echo "unknown fuzz target '$t'" >&2; exit 2; }
done

build
failed=0
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  run_one "$t" "$secs" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
exit $failed
