// KeepFreedMemory on glibc (mallopt); see malloc_tuning.h.
#include "common/base/malloc_tuning.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "absl/strings/str_cat.h"

namespace monoroute {

absl::Status KeepFreedMemory(size_t keep_bytes) {
  if (keep_bytes > kMaxKeepFreedBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("keep_bytes ", keep_bytes, " is above ", kMaxKeepFreedBytes));
  }
  if (keep_bytes == 0) return absl::OkStatus();
#if defined(__GLIBC__)
  constexpr int kMmapThreshold = 32 << 20;        // glibc's largest (HEAP_MAX_SIZE / 2 on 64-bit)
  constexpr int kTopPad = 16 << 20;               // heap growth step beyond a request
  const int trim = static_cast<int>(keep_bytes);  // <= kMaxKeepFreedBytes, an int
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 || mallopt(M_TRIM_THRESHOLD, trim) != 1 ||
      mallopt(M_TOP_PAD, kTopPad) != 1) {
    return absl::InternalError("mallopt refused a setting");
  }
  return absl::OkStatus();
#else
  return absl::UnimplementedError("KeepFreedMemory needs glibc");
#endif
}

}  // namespace monoroute
