# Run THERE (GPU machine, carry .devcarry and third_party): engine-only build against the pip
# torch LibTorch (all errors shown with -k 0), one routed bench, and a 60-step CUDA pretrain job
# on a generated corpus with checkpoints. Writes build.log to $OUT.
set -uo pipefail
PREFIX=/tmp/mrdeps; mkdir -p $PREFIX; for d in .devcarry/debs/*.deb; do dpkg -x "$d" $PREFIX; done
A=x86_64-linux-gnu; export LD_LIBRARY_PATH=$PREFIX/usr/lib/$A:${LD_LIBRARY_PATH:-}
export PKG_CONFIG_PATH=$PREFIX/usr/lib/$A/pkgconfig:$PREFIX/usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$PREFIX
TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMONOROUTE_WITH_SERVICES=OFF -DMONOROUTE_BUILD_TESTS=OFF -DCMAKE_PREFIX_PATH="$TP;$PREFIX/usr;$PREFIX/usr/lib/$A/cmake" -DPKG_CONFIG_EXECUTABLE=$PREFIX/usr/bin/pkgconf -DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0 > $OUT/build.log 2>&1 || { tail -30 $OUT/build.log; exit 1; }
cmake --build build-gpu --target monoroute -j16 -- -k 0 >> $OUT/build.log 2>&1; echo build_rc=$?
grep -E "error|FAILED" $OUT/build.log | head -40
B=build-gpu/bin/monoroute
$B bench train --device cuda --batch 64 --seq 256 --routed --steps 50 --warmup 5 --json 2>&1 | tail -2
$B corpus generate --stories 3000 --seed 1 --out /tmp/c.txt --quiet 2>&1 | tail -2
printf 'kind: pretrain\ndata:\n  train_path: /tmp/c.txt\n  seq_len: 128\noptim:\n  max_steps: 60\n  batch_size: 32\n  warmup_steps: 10\neval_every: 30\ncheckpoint_every: 30\noutput_dir: /tmp/job\ndevice: cuda:0\n' > /tmp/job.yaml
timeout 120 $B train --config /tmp/job.yaml --quiet 2>&1 | tail -8
ls /tmp/job/checkpoints 2>&1
