// The one place where absl::Status becomes grpc::Status (and back, for clients).
#ifndef MONOROUTE_COMMON_SERVICE_GRPC_STATUS_H_
#define MONOROUTE_COMMON_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace monoroute {

// Converts an internal status to the wire status (same code, same message).
grpc::Status ToGrpcStatus(const absl::Status& status);

// Converts a status received from a peer back to absl::Status (for clients).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_GRPC_STATUS_H_
