// ExpRowsInPlace: two passes per row (max; exp and sum), `omp simd` loops, cloned per ISA.
#include "common/model/cpu_softmax.h"

#include <algorithm>

#include "common/model/vec_math.h"

namespace monoroute::model {

MONOROUTE_KERNEL_CLONES
void ExpRowsInPlace(float* x, int64_t rows, int64_t cols, float* row_max, float* row_sum) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    float m = row[0];
#pragma omp simd reduction(max : m)
    for (int64_t j = 0; j < cols; ++j) m = std::max(m, row[j]);
    float l = 0.0f;
#pragma omp simd reduction(+ : l)
    for (int64_t j = 0; j < cols; ++j) {
      row[j] = vec::ExpNonPositive(row[j] - m);
      l += row[j];
    }
    row_max[r] = m;
    row_sum[r] = l;
  }
}

}  // namespace monoroute::model
