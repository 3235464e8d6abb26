// glibc malloc tuning of the recorder process (see memory_retention.h).
#include "services/recorder/memory_retention.h"

#include <algorithm>
#include <climits>

#include "absl/strings/str_cat.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace monoroute::recorder {

absl::Status RetainFreedMemory(size_t retain_bytes) {
  if (retain_bytes == 0) return absl::OkStatus();
#if defined(__GLIBC__)
  // The largest mmap threshold glibc accepts (HEAP_MAX_SIZE / 2 on 64-bit).
  constexpr int kMmapThreshold = 32 << 20;
  constexpr int kTopPad = 64 << 20;
  const int trim = static_cast<int>(std::min<size_t>(retain_bytes, INT_MAX));
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 || mallopt(M_TRIM_THRESHOLD, trim) != 1 ||
      mallopt(M_TOP_PAD, kTopPad) != 1) {
    return absl::InternalError(absl::StrCat("mallopt refused to retain ", retain_bytes, " bytes"));
  }
  return absl::OkStatus();
#else
  return absl::UnimplementedError("retaining freed memory needs glibc malloc");
#endif
}

}  // namespace monoroute::recorder
