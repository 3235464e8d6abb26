// ExpRowsInPlace: two passes per row (max; exp and sum), `omp simd` loops, one copy per ISA
// (vec_math.h) picked per call from ActiveCpuIsa().
#include "common/model/cpu_softmax.h"

#include "common/model/cpu_isa.h"
#include "common/model/vec_math.h"

namespace monoroute::model {
namespace {

#define MONOROUTE_DEFINE_EXP_ROWS(NAME, TARGET)                                            \
  TARGET void NAME(float* x, int64_t rows, int64_t cols, float* row_max, float* row_sum) { \
    for (int64_t r = 0; r < rows; ++r) {                                                   \
      vec::ExpMinusMaxInPlace(x + r * cols, cols, row_max + r, row_sum + r);               \
    }                                                                                      \
  }

MONOROUTE_DEFINE_EXP_ROWS(ExpRowsGeneric, )
#if MONOROUTE_X86_KERNELS
MONOROUTE_DEFINE_EXP_ROWS(ExpRowsAvx2, MONOROUTE_TARGET_AVX2)
MONOROUTE_DEFINE_EXP_ROWS(ExpRowsAvx512, MONOROUTE_TARGET_AVX512)
#endif
#undef MONOROUTE_DEFINE_EXP_ROWS

}  // namespace

void ExpRowsInPlace(float* x, int64_t rows, int64_t cols, float* row_max, float* row_sum) {
#if MONOROUTE_X86_KERNELS
  switch (ActiveCpuIsa()) {
    case CpuIsa::kAvx512:
      return ExpRowsAvx512(x, rows, cols, row_max, row_sum);
    case CpuIsa::kAvx2:
      return ExpRowsAvx2(x, rows, cols, row_max, row_sum);
    case CpuIsa::kGeneric:
      break;
  }
#endif
  ExpRowsGeneric(x, rows, cols, row_max, row_sum);
}

}  // namespace monoroute::model
