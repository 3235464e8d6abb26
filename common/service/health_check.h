// Client of the standard gRPC health service (grpc.health.v1.Health/Check) without generated
// stubs: the request and response are one-field protobufs, encoded here by hand. Used by
// `monoroute health` (compose healthchecks), by the analysis service to watch its recorder, and by
// tests. Thread-safe (no state).
#ifndef MONOROUTE_COMMON_SERVICE_HEALTH_CHECK_H_
#define MONOROUTE_COMMON_SERVICE_HEALTH_CHECK_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/service/tls_credentials.h"

namespace monoroute {

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum class ServingStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

// "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN".
const char* ServingStatusName(ServingStatus status);

// The service name every server registers as always SERVING while its process answers: the
// liveness probe's name (readiness asks for the overall status, "").
inline constexpr char kLivenessServiceName[] = "liveness";

// Calls Check for `service` ("" = the server as a whole) over `channel` with a `timeout` deadline.
// The serving status the server answered; the call's error otherwise (e.g. UNAVAILABLE when
// nothing listens, NOT_FOUND when the server does not know `service`).
absl::StatusOr<ServingStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                          const std::string& service,
                                          std::chrono::milliseconds timeout);

// A readiness probe of a dependency for ServerRunnerOptions::health_probe: OK while the service at
// `address` (with `tls`) answers SERVING for `service` within `timeout`, otherwise an error naming
// `what` and the address. The channel is created once and reused. INVALID_ARGUMENT at creation for
// unusable TLS files.
absl::StatusOr<std::function<absl::Status()>> MakeHealthProbe(
    const std::string& what, const std::string& address, const ChannelTlsOptions& tls,
    const std::string& service, std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_HEALTH_CHECK_H_
