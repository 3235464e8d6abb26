// Benchmark (not a test): load time of a safetensors file and of a pytorch_model.bin.
//   build-*/tests/tensor_io_bench MODEL.safetensors [pytorch_model.bin] [iterations]
// Prints the median milliseconds per load and MB/s; compare with tensor_io_bench_baseline.py
// (torch.load and a plain-Python safetensors reader) run on the same files in the same session.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/tensor_io/safetensors.h"
#include "common/tensor_io/torch_pickle.h"

namespace {

template <typename Fn>
double MedianMs(int iters, Fn&& fn) {
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (!fn()) std::exit(1);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

size_t Bytes(const monoroute::TensorMap& m) {
  size_t b = 0;
  for (const auto& [n, t] : m) b += t.numel() * t.element_size();
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.safetensors [pytorch_model.bin] [iterations]\n", argv[0]);
    return 2;
  }
  const int iters = argc > 3 ? std::atoi(argv[3]) : 20;
  size_t bytes = 0;
  double st = MedianMs(iters, [&]() {
    auto r = monoroute::ReadSafetensors(argv[1]);
    if (!r.ok()) std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    if (r.ok()) bytes = Bytes(r->tensors);
    return r.ok();
  });
  std::printf("monoroute ReadSafetensors   %8.2f ms  %7.0f MB/s  (%zu bytes, median of %d)\n", st,
              bytes / 1e3 / st, bytes, iters);
  if (argc > 2) {
    double bin = MedianMs(iters, [&]() {
      auto r = monoroute::ReadTorchCheckpoint(argv[2]);
      if (!r.ok()) std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return r.ok();
    });
    std::printf(
        "monoroute ReadTorchCheckpoint %6.2f ms  %7.0f MB/s  (MB/s of the safetensors bytes, "
        "median of %d)\n",
        bin, bytes / 1e3 / bin, iters);
  }
  return 0;
}
