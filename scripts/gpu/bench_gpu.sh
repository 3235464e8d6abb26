#!/usr/bin/env bash
# Run THERE (the GPU machine, from the repo root, with .devcarry carried): extracts the Debian
# packages from .devcarry/debs into a prefix, builds the engine-only `monoroute` against the pip
# torch's CUDA LibTorch, then runs `monoroute bench train` (routed and dense, bf16 + CUDA graphs,
# plus fp32/eager variants) and the Python baselines bench.py and bench_compile.py. Everything
# goes to $OUT (default ./out-gpu): bench_gpu.log (everything), build.log, mr_bench.txt,
# py_bench.txt, py_bench_compile.txt, summary.txt. Budget: ~8 minutes.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/out-gpu}
mkdir -p "$OUT"
LOG=$OUT/bench_gpu.log
exec > >(tee -a "$LOG") 2>&1
export PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - T0 ))s] $*"; }

stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c 'import torch;print("torch", torch.__version__, torch.version.cuda)' || true

# 1. Debian packages into a prefix.
PREFIX=/tmp/mrdeps
mkdir -p "$PREFIX"
for d in .devcarry/debs/*.deb; do dpkg -x "$d" "$PREFIX"; done
ARCH=x86_64-linux-gnu
export LD_LIBRARY_PATH="$PREFIX/usr/lib/$ARCH:${LD_LIBRARY_PATH:-}"
export PKG_CONFIG_PATH="$PREFIX/usr/lib/$ARCH/pkgconfig:$PREFIX/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$PREFIX"
PKGCONF=$PREFIX/usr/bin/pkgconf
[ -x "$PKGCONF" ] || PKGCONF=$(command -v pkg-config || true)
TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
export CUDACXX=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
stamp "configure (torch cmake prefix $TORCH_PREFIX, pkg-config $PKGCONF)"
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DMONOROUTE_WITH_SERVICES=OFF -DMONOROUTE_BUILD_TESTS=OFF \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$PREFIX/usr;$PREFIX/usr/lib/$ARCH/cmake" \
  -DPKG_CONFIG_EXECUTABLE="$PKGCONF" -DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0 \
  > "$OUT/build.log" 2>&1
CFG_RC=$?
tail -20 "$OUT/build.log"
BIN=build-gpu/bin/monoroute
if [ $CFG_RC -eq 0 ]; then
  stamp "build monoroute -j16"
  cmake --build build-gpu --target monoroute -j16 >> "$OUT/build.log" 2>&1
  BUILD_RC=$?
  grep -E "error|FAILED" -A3 "$OUT/build.log" | head -60
  stamp "build rc=$BUILD_RC"
  if [ $BUILD_RC -ne 0 ]; then
    # Another library failed: the model-only CLI has the same `bench train` command.
    stamp "fallback: build monoroute_model_cli"
    cmake --build build-gpu --target monoroute_model_cli -j16 >> "$OUT/build.log" 2>&1
    BUILD_RC=$?
    BIN=build-gpu/bin/monoroute_model_cli
    stamp "fallback build rc=$BUILD_RC"
  fi
else
  BUILD_RC=1
fi

run_bench() {  # name, args...
  local name=$1; shift
  stamp "monoroute bench train $name: $*"
  timeout 120 "$BIN" bench train --device cuda --batch 64 --seq 256 --json "$@" \
    > "/tmp/mr_$name.txt" 2>&1
  echo "rc=$?"; tail -3 "/tmp/mr_$name.txt"
  { echo "## $name: $*"; cat "/tmp/mr_$name.txt"; } >> "$OUT/mr_bench.txt"
}
if [ $BUILD_RC -eq 0 ] && [ -x "$BIN" ]; then
  run_bench routed_bf16_graph --routed --steps 50 --warmup 5
  run_bench dense_bf16_graph --steps 50 --warmup 5
  run_bench routed_fp32_eager --routed --precision fp32 --graph off --steps 20 --warmup 5
  run_bench routed_fp32_graph --routed --precision fp32 --steps 50 --warmup 5
fi

stamp "python baseline bench.py"
(cd .devcarry/bench && B=64 T=256 STEPS=20 OUT=/tmp timeout 150 python3 bench.py) \
  > "$OUT/py_bench.txt" 2>&1
tail -3 "$OUT/py_bench.txt"
ELAPSED=$(( $(date +%s) - T0 ))
if [ $ELAPSED -lt 330 ]; then
  stamp "python bench_compile.py"
  (cd .devcarry/bench && B=64 T=256 OUT=/tmp timeout $(( 470 - ELAPSED )) python3 bench_compile.py) \
    > "$OUT/py_bench_compile.txt" 2>&1
  tail -8 "$OUT/py_bench_compile.txt"
else
  stamp "skipping bench_compile.py (time)"
fi
# One summary file.
{
  for f in /tmp/mr_*.txt; do echo "$(basename "$f" .txt) $(tail -1 "$f")"; done
  tail -1 "$OUT/py_bench.txt"
  [ -f /tmp/bench_compile.json ] && cat /tmp/bench_compile.json
} > "$OUT/summary.txt" 2>/dev/null
stamp "done"
cat "$OUT/summary.txt"
