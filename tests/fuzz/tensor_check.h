// Checks for the tensor-reader fuzz targets: every tensor a reader returns must lie inside its
// storage. The extent is computed independently of the reader (128-bit arithmetic) and the first
// and last bytes are read by instrumented code, so AddressSanitizer sees an out-of-bounds view.
#ifndef MONOROUTE_TESTS_FUZZ_TENSOR_CHECK_H_
#define MONOROUTE_TESTS_FUZZ_TENSOR_CHECK_H_

#include <ATen/ATen.h>

#include <string>

#include "tests/fuzz/fuzz_check.h"

namespace monoroute::fuzz {

// Aborts (a fuzzer crash) unless `t` is a defined CPU tensor whose strided extent lies within
// its storage; reads its first and last element bytes.
inline void CheckTensorInBounds(const std::string& name, const at::Tensor& t) {
  FUZZ_CHECK(t.defined(), "tensor '%s' is undefined", name.c_str());
  FUZZ_CHECK(t.device().is_cpu(), "tensor '%s' is not on the CPU", name.c_str());
  if (t.numel() == 0) return;
  __int128 lo = 0, hi = 0;  // element offsets relative to data_ptr()
  for (int64_t d = 0; d < t.dim(); ++d) {
    const __int128 span = static_cast<__int128>(t.size(d) - 1) * t.stride(d);
    if (span < 0)
      lo += span;
    else
      hi += span;
  }
  const __int128 item = t.element_size();
  const __int128 first = (t.storage_offset() + lo) * item;
  const __int128 end = (t.storage_offset() + hi + 1) * item;
  FUZZ_CHECK(first >= 0 && end <= static_cast<__int128>(t.storage().nbytes()),
             "tensor '%s' (offset %lld) reaches outside its storage of %zu bytes", name.c_str(),
             static_cast<long long>(t.storage_offset()), t.storage().nbytes());
  const volatile char* base = static_cast<const char*>(t.storage().data());
  volatile char sink = base[static_cast<size_t>(first)];
  sink = base[static_cast<size_t>(end - 1)];
  (void)sink;
}

}  // namespace monoroute::fuzz

#endif  // MONOROUTE_TESTS_FUZZ_TENSOR_CHECK_H_
