// ExpRowsInPlace: two passes per row (max; exp and sum), `omp simd` loops, cloned per ISA.
#include "common/model/cpu_softmax.h"

#include "common/model/vec_math.h"

namespace monoroute::model {

MONOROUTE_KERNEL_CLONES
void ExpRowsInPlace(float* x, int64_t rows, int64_t cols, float* row_max, float* row_sum) {
  for (int64_t r = 0; r < rows; ++r) {
    vec::ExpMinusMaxInPlace(x + r * cols, cols, row_max + r, row_sum + r);
  }
}

}  // namespace monoroute::model
