// ConfigureCpuThreads / BlasThreads: OpenBLAS's pool is reached through dlsym, so the build does
// not depend on which BLAS implementation the LibTorch in use was linked against.
#include "common/model/cpu_threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

namespace monoroute::model {
namespace {

using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();

SetThreadsFn OpenBlasSet() {
  static const auto fn =
      reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  return fn;
}

GetThreadsFn OpenBlasGet() {
  static const auto fn =
      reinterpret_cast<GetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn;
}

}  // namespace

void ConfigureCpuThreads(int threads) {
  if (threads > 0) at::set_num_threads(threads);
  if (SetThreadsFn set = OpenBlasSet()) set(1);
}

int BlasThreads() {
  GetThreadsFn get = OpenBlasGet();
  return get ? get() : 1;
}

}  // namespace monoroute::model
