// How much freed memory the C library's allocator keeps for reuse. glibc's defaults hand large
// blocks (from 128 KiB, rising with use) to fresh mmap()s and return freed heap tops to the
// kernel, so a service that frees and reallocates large buffers per request (the recorder: gRPC's
// receive buffers, RocksDB memtable blocks) faults fresh zeroed pages in for every one of them.
// KeepFreedMemory makes blocks up to 32 MiB come from the heap and keeps up to `keep_bytes` of
// freed memory there for the next request.
#ifndef MONOROUTE_COMMON_BASE_MALLOC_TUNING_H_
#define MONOROUTE_COMMON_BASE_MALLOC_TUNING_H_

#include <cstddef>

#include "absl/status/status.h"

namespace monoroute {

// Largest keep_bytes accepted: what the allocator's setting (an int) can hold, 2 GiB - 1.
inline constexpr size_t kMaxKeepFreedBytes = (size_t{1} << 31) - 1;

// Keeps up to `keep_bytes` of freed memory for reuse (0: leaves the allocator's defaults).
// INVALID_ARGUMENT above kMaxKeepFreedBytes; UNIMPLEMENTED without glibc; INTERNAL when the
// allocator refuses a setting. Call once, early in main, before threads start.
absl::Status KeepFreedMemory(size_t keep_bytes);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_MALLOC_TUNING_H_
