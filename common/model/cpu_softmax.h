// Unnormalised row softmax for the CPU fused LM loss: exp(x - rowmax) in place, with each row's
// max and sum returned, so the caller folds 1/sum into its small operands instead of spending a
// pass over the [rows, V] block on normalising it.
#ifndef MONOROUTE_COMMON_MODEL_CPU_SOFTMAX_H_
#define MONOROUTE_COMMON_MODEL_CPU_SOFTMAX_H_

#include <cstdint>

namespace monoroute::model {

// For each of `rows` rows of `cols` contiguous floats at x (row stride `cols`):
// row_max[r] = max_j x[r, j]; x[r, j] = exp(x[r, j] - row_max[r]); row_sum[r] = sum_j x[r, j].
// Vectorised (AVX-512, AVX2 or baseline copy, per ActiveCpuIsa()); relative error of exp below
// 2e-7. Thread-safe for disjoint rows.
void ExpRowsInPlace(float* x, int64_t rows, int64_t cols, float* row_max, float* row_sum);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CPU_SOFTMAX_H_
