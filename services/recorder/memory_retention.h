// RetainFreedMemory: makes the process's allocator (glibc malloc) keep freed memory for reuse
// instead of handing it back to the kernel. The recorder frees and allocates the same large
// buffers for every batch (gRPC's read slices, write batches, memtable arenas); given back, each
// reuse first-touches fresh pages again, which costs 20-40 us per 4 KiB page on a small VM
// (docs/recorder.md, "Ingest CPU").
#ifndef MONOROUTE_SERVICES_RECORDER_MEMORY_RETENTION_H_
#define MONOROUTE_SERVICES_RECORDER_MEMORY_RETENTION_H_

#include <cstddef>

#include "absl/status/status.h"

namespace monoroute::recorder {

// Keeps up to `retain_bytes` of freed heap memory (M_TRIM_THRESHOLD), serves allocations below
// 32 MiB from the heap rather than from fresh mmaps (M_MMAP_THRESHOLD), and grows the heap in
// 64 MiB steps (M_TOP_PAD). 0 leaves glibc's defaults. Call once, at start-up, before threads
// allocate. UNIMPLEMENTED without glibc; INTERNAL when glibc refuses a setting.
absl::Status RetainFreedMemory(size_t retain_bytes);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_MEMORY_RETENTION_H_
