// Confines paths named in job specs to a set of allowed root directories.
#ifndef MONOROUTE_SERVICES_TRAINER_PATH_POLICY_H_
#define MONOROUTE_SERVICES_TRAINER_PATH_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace monoroute::trainer {

// Checks that `path` (the value of spec field `field`) is absolute and, after resolving ".." and
// symlinks of its existing part, lies inside one of `allowed_roots` (also resolved). An empty
// `allowed_roots` allows every absolute path. INVALID_ARGUMENT for a relative or empty path,
// PERMISSION_DENIED outside the roots; both messages name the field. Thread-safe.
absl::Status CheckPathAllowed(const std::string& field, const std::string& path,
                              const std::vector<std::string>& allowed_roots);

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_PATH_POLICY_H_
