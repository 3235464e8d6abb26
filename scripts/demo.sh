#!/usr/bin/env bash
# The one command: bootstraps (idempotent), builds, and runs `monoroute demo`, which starts the
# recorder, analysis and trainer services on free 127.0.0.1 ports, pretrains a TinyStories-1M-
# architecture model on a generated corpus, GLBL fine-tunes it with pathway routing, and writes
# llm_routing_results.json + llm_monosemanticity.png into ./out (or --out DIR).
#   scripts/demo.sh                                   # everything from scratch
#   scripts/demo.sh --model DIR --data train.txt      # fine-tune a real TinyStories-1M download
# Extra arguments go to `monoroute demo` (see `build/bin/monoroute demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${MONOROUTE_BUILD_DIR:-build}"
scripts/bootstrap.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"${MONOROUTE_JOBS:-$(nproc)}" \
  --target monoroute monoroute-recorder monoroute-analysis monoroute-trainer
exec "$BUILD_DIR/bin/monoroute" demo "$@"
