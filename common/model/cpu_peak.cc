// MeasurePeakGflops: 12 independent accumulator chains per thread (enough to cover the FMA
// latency on current x86 cores), timed with steady_clock; one copy of the loop per ISA.
#include "common/model/cpu_peak.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "common/model/vec_math.h"

#if MONOROUTE_X86_KERNELS
#include <immintrin.h>
#endif

namespace monoroute::model {
namespace {

constexpr int kChains = 12;
// Results of the loops land here so the compiler cannot drop them.
std::atomic<float> g_sink{0.0f};

// Each returns the flops done by `iters` iterations (and a value so the loop is not removed).
#if MONOROUTE_X86_KERNELS
// Defines `double NAME(int64_t iters, float* sink)`: the kChains FMA chains over vectors of
// type R (kLanes floats), with the intrinsics of prefix P (_mm512, _mm256), compiled for target
// T. One body for every ISA: a macro, because a target attribute cannot depend on a template
// parameter (and the intrinsics inline only into a function of their target).
#define MONOROUTE_FMA_CHAINS_LOOP(NAME, T, P, R)                                   \
  __attribute__((target(T))) double NAME(int64_t iters, float* sink) {             \
    constexpr int kLanes = sizeof(R) / sizeof(float);                              \
    R acc[kChains];                                                                \
    for (int c = 0; c < kChains; ++c) acc[c] = P##_set1_ps(static_cast<float>(c)); \
    const R a = P##_set1_ps(0.999999f), b = P##_set1_ps(1e-7f);                    \
    for (int64_t i = 0; i < iters; ++i) {                                          \
      _Pragma("GCC unroll 12") for (int c = 0; c < kChains; ++c) {                 \
        acc[c] = P##_fmadd_ps(acc[c], a, b);                                       \
      }                                                                            \
    }                                                                              \
    R s = acc[0];                                                                  \
    for (int c = 1; c < kChains; ++c) s = P##_add_ps(s, acc[c]);                   \
    float out[kLanes];                                                             \
    P##_storeu_ps(out, s);                                                         \
    *sink = out[0];                                                                \
    return 2.0 * kLanes * kChains * static_cast<double>(iters);                    \
  }

MONOROUTE_FMA_CHAINS_LOOP(Avx512Loop, "avx512f", _mm512, __m512)
MONOROUTE_FMA_CHAINS_LOOP(Avx2Loop, "avx2,fma", _mm256, __m256)
#undef MONOROUTE_FMA_CHAINS_LOOP
#endif

double GenericLoop(int64_t iters, float* sink) {
  float acc[kChains * 4];
  for (int c = 0; c < kChains * 4; ++c) acc[c] = static_cast<float>(c);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 48
    for (int c = 0; c < kChains * 4; ++c) acc[c] = acc[c] * 0.999999f + 1e-7f;
  }
  float s = 0.0f;
  for (int c = 0; c < kChains * 4; ++c) s += acc[c];
  *sink = s;
  return 2.0 * 4 * kChains * static_cast<double>(iters);
}

double Loop(CpuIsa isa, int64_t iters, float* sink) {
#if MONOROUTE_X86_KERNELS
  if (isa == CpuIsa::kAvx512) return Avx512Loop(iters, sink);
  if (isa == CpuIsa::kAvx2) return Avx2Loop(iters, sink);
#endif
  return GenericLoop(iters, sink);
}

}  // namespace

double MeasurePeakGflops(CpuIsa isa, int threads, double seconds) {
  if (isa > SupportedCpuIsa()) isa = SupportedCpuIsa();
  threads = std::max(1, threads);
  // Calibrate the iteration count on this thread, then run it on every thread at once.
  using Clock = std::chrono::steady_clock;
  float sink = 0.0f;
  int64_t iters = 1 << 16;
  for (;;) {
    const auto t0 = Clock::now();
    Loop(isa, iters, &sink);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s > seconds / 8 || iters > (int64_t{1} << 40)) {
      iters = static_cast<int64_t>(static_cast<double>(iters) * seconds / std::max(s, 1e-9));
      break;
    }
    iters *= 4;
  }
  g_sink.store(sink, std::memory_order_relaxed);
  std::atomic<int64_t> flops_total{0};
  const auto t0 = Clock::now();
  at::parallel_for(0, threads, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float s = 0.0f;
      flops_total.fetch_add(static_cast<int64_t>(Loop(isa, iters, &s)));
      g_sink.store(s, std::memory_order_relaxed);
    }
  });
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return static_cast<double>(flops_total.load()) / s * 1e-9;
}

}  // namespace monoroute::model
