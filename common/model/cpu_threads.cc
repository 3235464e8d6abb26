// ConfigureCpuThreads / BlasThreads: OpenBLAS's pool is reached through dlsym, so the build does
// not depend on which BLAS implementation the LibTorch in use was linked against.
#include "common/model/cpu_threads.h"

#include <dlfcn.h>
#include <sched.h>
#include <torch/torch.h>

#include <algorithm>
#include <thread>

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
  at::set_num_threads(threads > 0 ? threads : AvailableCpus());
  if (SetThreadsFn set = OpenBlasSet()) set(1);
}

int AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int BlasThreads() {
  GetThreadsFn get = OpenBlasGet();
  return get ? get() : 1;
}

}  // namespace monoroute::model
