// The machine's fp32 FMA peak, measured: for benchmarks that print GFLOP/s next to what the CPU
// can do (`monoroute bench train --profile`). A measurement, not a table of CPU models: it sees
// the clock the CPU actually runs at (turbo, VM, other load) and how wide its FMA units are
// (e.g. AMD Zen 4 executes a 512-bit FMA as two 256-bit halves).
#ifndef MONOROUTE_COMMON_MODEL_CPU_PEAK_H_
#define MONOROUTE_COMMON_MODEL_CPU_PEAK_H_

#include <cstdint>

#include "common/model/cpu_isa.h"

namespace monoroute::model {

// GFLOP/s of independent fp32 FMA chains on `threads` threads of ATen's pool (each thread runs
// the same loop for about `seconds`), with the vectors of `isa` (baseline: SSE2 multiply + add).
// Not thread-safe with other work on the pool (it occupies it).
double MeasurePeakGflops(CpuIsa isa, int threads, double seconds = 0.2);

// GFLOP/s of large fp32 matrix multiplies through LibTorch (at::mm -> the BLAS it links, e.g.
// OpenBLAS): each of `threads` threads of ATen's pool multiplies its own n x n matrices
// repeatedly for about `seconds` (BLAS as ConfigureCpuThreads leaves it: one thread per call),
// 2 n^3 flops per multiply. The attainable GEMM rate: the reference for "% of peak" of a
// training step. `per_core_cpu_gflops` (optional) gets the rate per second of CPU time of one
// thread (each thread's CLOCK_THREAD_CPUTIME_ID): on a machine loaded by other processes the
// wall rate drops with the share of the cores this process gets, this one does not. Not
// thread-safe with other work on the pool (it occupies it).
double MeasureSgemmPeakGflops(int threads, int64_t n = 1024, double seconds = 0.3,
                              double* per_core_cpu_gflops = nullptr);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CPU_PEAK_H_
