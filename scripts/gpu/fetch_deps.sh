#!/usr/bin/env bash
# Run HERE (the Debian 12 dev machine): downloads the Debian packages that an engine-only build
# needs but the GPU machine lacks, into .devcarry/debs/, and copies the Python baselines into
# .devcarry/bench/ (../shared does not travel). Then run scripts/gpu/bench_gpu.sh THERE with
# carry [".devcarry"].
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .devcarry/debs .devcarry/bench
PKGS=(
  libabsl-dev libabsl20220623
  nlohmann-json3-dev
  libcli11-dev
  libfmt-dev libfmt9
  libyaml-cpp-dev libyaml-cpp0.7
  libutf8proc-dev libutf8proc2
  pkgconf pkgconf-bin libpkgconf3 pkg-config
)
(cd .devcarry/debs && apt-get download "${PKGS[@]}")
cp ../shared/bench/bench.py ../shared/bench/bench_compile.py ../shared/bench/refmodel.py \
  .devcarry/bench/
ls -la .devcarry/debs .devcarry/bench
du -sh .devcarry
