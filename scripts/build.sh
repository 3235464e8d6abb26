#!/usr/bin/env bash
# Bootstraps (idempotent) and builds everything into build/ (binaries in build/bin/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"${MONOROUTE_JOBS:-$(nproc)}"
