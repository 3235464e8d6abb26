#!/usr/bin/env bash
# Builds everything and runs the test suite (all tests except those labelled "slow"; pass
# --all to include them), then the fuzz smoke run: every libFuzzer target of tests/fuzz for ~10 s
# in its own sanitizer build (build-fuzz/, docs/fuzzing.md; MONOROUTE_FUZZ_SMOKE=0 leaves it out
# of a local run). Tests that need ../shared skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
label_args=(-LE slow)
if [ "${1:-}" = "--all" ]; then label_args=(); shift; fi
scripts/build.sh
rc=0
ctest --test-dir build --output-on-failure -j"${MONOROUTE_JOBS:-$(nproc)}" "${label_args[@]}" "$@" \
  || rc=$?
if [ "${MONOROUTE_FUZZ_SMOKE:-1}" != 0 ]; then
  scripts/fuzz.sh --smoke || rc=$?
fi
exit "$rc"
