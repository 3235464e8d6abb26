// MeasureSgemmPeakGflops: independent n x n at::mm per thread of ATen's pool, calibrated to run
// for about the requested time, timed with steady_clock.
#include <ATen/Parallel.h>
#include <time.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "common/model/cpu_peak.h"

namespace monoroute::model {

namespace {

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

double MeasureSgemmPeakGflops(int threads, int64_t n, double seconds, double* per_core_cpu_gflops) {
  threads = std::max(1, threads);
  n = std::max<int64_t>(64, n);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> a, b, c;
  std::vector<double> cpu_s(static_cast<size_t>(threads), 0.0);
  for (int t = 0; t < threads; ++t) {
    a.push_back(torch::randn({n, n}));
    b.push_back(torch::randn({n, n}));
    c.push_back(torch::empty({n, n}));
  }
  // One index per thread: the pool's threads each multiply their own matrices `reps` times.
  auto run = [&](int64_t reps) {
    const auto t0 = std::chrono::steady_clock::now();
    at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const double c0 = ThreadCpuSeconds();
        for (int64_t r = 0; r < reps; ++r) at::mm_out(c[t], a[t], b[t]);
        cpu_s[static_cast<size_t>(t)] = ThreadCpuSeconds() - c0;
      }
    });
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const double once = std::max(run(1), 1e-6);  // also the warm-up (packing buffers, pages)
  const int64_t reps = std::max<int64_t>(1, static_cast<int64_t>(seconds / once));
  const double s = std::max(run(reps), 1e-9);
  const double nd = static_cast<double>(n);
  const double flops_per_thread = static_cast<double>(reps) * 2.0 * nd * nd * nd;
  if (per_core_cpu_gflops != nullptr) {
    double total_cpu = 0;
    for (double v : cpu_s) total_cpu += v;
    *per_core_cpu_gflops =
        flops_per_thread * static_cast<double>(threads) / std::max(total_cpu, 1e-9) * 1e-9;
  }
  return static_cast<double>(threads) * flops_per_thread / s * 1e-9;
}

}  // namespace monoroute::model
