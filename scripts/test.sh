#!/usr/bin/env bash
# Builds everything and runs the test suite (all tests except those labelled "slow"; pass
# --all to include them). Tests that need ../shared skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
label_args=(-LE slow)
if [ "${1:-}" = "--all" ]; then label_args=(); shift; fi
scripts/build.sh
ctest --test-dir build --output-on-failure -j"${MONOROUTE_JOBS:-$(nproc)}" "${label_args[@]}" "$@"
