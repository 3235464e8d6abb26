// The machine's fp32 FMA peak, measured: for benchmarks that print GFLOP/s next to what the CPU
// can do (`monoroute bench train --profile`). A measurement, not a table of CPU models: it sees
// the clock the CPU actually runs at (turbo, VM, other load) and how wide its FMA units are
// (e.g. AMD Zen 4 executes a 512-bit FMA as two 256-bit halves).
#ifndef MONOROUTE_COMMON_MODEL_CPU_PEAK_H_
#define MONOROUTE_COMMON_MODEL_CPU_PEAK_H_

#include "common/model/cpu_isa.h"

namespace monoroute::model {

// GFLOP/s of independent fp32 FMA chains on `threads` threads of ATen's pool (each thread runs
// the same loop for about `seconds`), with the vectors of `isa` (baseline: SSE2 multiply + add).
// Not thread-safe with other work on the pool (it occupies it).
double MeasurePeakGflops(CpuIsa isa, int threads, double seconds = 0.2);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CPU_PEAK_H_
