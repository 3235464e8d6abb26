// Confines paths named in requests (job specs, Ablate) to a set of allowed root directories.
// Shared by the trainer (spec paths) and the analysis service (Ablate's checkpoint and text).
#ifndef MONOROUTE_COMMON_BASE_PATH_POLICY_H_
#define MONOROUTE_COMMON_BASE_PATH_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace monoroute {

// Checks that `path` (the value of request field `field`) is absolute and, after resolving ".."
// and symlinks of its existing part, lies inside one of `allowed_roots` (also resolved). An empty
// `allowed_roots` allows every absolute path. INVALID_ARGUMENT for a relative or empty path,
// PERMISSION_DENIED outside the roots; both messages name the field and quote the path as given
// (cut to 256 bytes), so they are the same whether or not the path exists. Thread-safe.
absl::Status CheckPathAllowed(const std::string& field, const std::string& path,
                              const std::vector<std::string>& allowed_roots);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_PATH_POLICY_H_
