// Runs a gRPC server with health checking, reflection and a Prometheus endpoint until SIGTERM or
// SIGINT, then shuts it down gracefully. Used by every service's main.cc.
#ifndef MONOROUTE_COMMON_SERVICE_SERVER_RUNNER_H_
#define MONOROUTE_COMMON_SERVICE_SERVER_RUNNER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "prometheus/registry.h"

namespace monoroute {

struct ServerRunnerOptions {
  // host:port to serve gRPC on; port 0 picks a free port (see the bound-port callback).
  std::string listen = "127.0.0.1:0";
  // host:port for the Prometheus /metrics endpoint; empty disables it.
  std::string metrics_listen;
  // Name reported as SERVING by the health service (besides the empty overall name).
  std::string service_name;
  // Largest message accepted, in bytes.
  int max_message_bytes = 64 << 20;
  // How long in-flight RPCs get to finish after SIGTERM before they are cancelled.
  std::chrono::milliseconds shutdown_grace{5000};
  // Called once the server listens, with the bound port (e.g. to print "listening on ...").
  std::function<void(int port)> on_started;
  // Called after the gRPC server stopped, before returning (flush, close stores).
  std::function<void()> on_shutdown;
};

// Builds and runs the server with the given services (not owned; must outlive the call), blocks
// until SIGTERM/SIGINT. `registry` is exposed on metrics_listen. Returns an error if the address
// cannot be bound.
absl::Status RunServer(const ServerRunnerOptions& options, const std::vector<grpc::Service*>& services,
                       std::shared_ptr<prometheus::Registry> registry);

// Installs SIGTERM/SIGINT handlers and returns a function that blocks until one arrives.
// Exposed for tests and for mains that run several servers. Thread-safe.
void InstallShutdownSignalHandlers();
void WaitForShutdownSignal();
// Requests shutdown as if a signal arrived (tests).
void RequestShutdown();

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_SERVER_RUNNER_H_
