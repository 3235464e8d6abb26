// Checking and reading a data file named in a request (a job's train/valid text, Ablate's or
// Evaluate's text) without trusting it to be a regular file of sane size: the file is examined
// before it is opened for reading (a FIFO would block the reader, a directory or a device would
// fail later with a misleading message) and read with explicit bounds, never mapped whole.
// Torch-free.
#ifndef MONOROUTE_COMMON_ENGINE_DATA_FILE_H_
#define MONOROUTE_COMMON_ENGINE_DATA_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace monoroute::engine {

// The size of `path`, the value of request field `field`, after checking it is a readable
// regular file: NOT_FOUND "<field>: file not found: <path>" when absent; INVALID_ARGUMENT
// "<field>: <path> is a directory" / "is a FIFO" / "is a socket" / "is a device" (not a regular
// file); PERMISSION_DENIED "<field>: file not readable: <path>". Thread-safe.
absl::StatusOr<int64_t> CheckDataFile(const std::string& field, const std::string& path);

// Bytes [0, min(n, size)) of the regular file `path` (opened non-blocking and checked again
// after opening, so a file swapped for a FIFO in between is refused, not waited on). Errors name
// `field` and `path` as CheckDataFile's do.
absl::StatusOr<std::string> ReadDataFilePrefix(const std::string& field, const std::string& path,
                                               int64_t n);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_DATA_FILE_H_
