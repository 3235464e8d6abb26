// Runs a gRPC server with health checking, reflection and a Prometheus endpoint until SIGTERM or
// SIGINT, then shuts it down gracefully. Used by every service's main.cc.
//
// Health (grpc.health.v1): the overall status "" and `service_name` are the readiness (SERVING,
// or NOT_SERVING while `health_probe` fails); the name "liveness" is SERVING while the process
// answers. `health_listen` adds a plaintext port that serves only the health service, for probes
// that cannot speak TLS (Kubernetes' grpc probes) while the main port serves TLS only.
// Metrics: with `metrics_prefix`, the registry also gets <prefix>_build_info and the per-RPC
// metrics of service_metrics.h, and the endpoint the process_* metrics of process_metrics.h.
#ifndef MONOROUTE_COMMON_SERVICE_SERVER_RUNNER_H_
#define MONOROUTE_COMMON_SERVICE_SERVER_RUNNER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/service/tls_credentials.h"
#include "prometheus/registry.h"

namespace monoroute {

struct ServerRunnerOptions {
  // host:port to serve gRPC on; port 0 picks a free port (see the bound-port callback).
  std::string listen = "127.0.0.1:0";
  // host:port for the Prometheus /metrics endpoint; empty disables it.
  std::string metrics_listen;
  // Name reported as SERVING by the health service (besides the empty overall name).
  std::string service_name;
  // Largest request message accepted, in bytes (set per service: small for trainer and
  // analysis requests, larger for recorder ingest batches).
  int max_receive_message_bytes = 4 << 20;
  // Largest response message sent, in bytes.
  int max_send_message_bytes = 64 << 20;
  // TLS of the listening port (plaintext when not enabled; see tls_credentials.h).
  ServerTlsOptions tls;
  // How long in-flight RPCs get to finish after SIGTERM before they are cancelled.
  std::chrono::milliseconds shutdown_grace{5000};
  // Metric name prefix of the shared metrics ("monoroute_recorder"); empty: none of them.
  std::string metrics_prefix;
  // host:port of the plaintext health-only gRPC port; empty disables it; port 0 picks one.
  std::string health_listen;
  // Readiness check of what the service depends on (e.g. the analysis service's recorder), run
  // before serving and then every `health_probe_interval` on a thread of RunServer; an error sets
  // the readiness to NOT_SERVING (logged on stdout when it changes). Empty: always SERVING.
  std::function<absl::Status()> health_probe;
  std::chrono::milliseconds health_probe_interval{5000};
  // Further health names, each with its own probe run with `health_probe` (same interval): the
  // name is SERVING while its probe returns OK, NOT_SERVING otherwise (logged when it changes).
  // E.g. the recorder's "monoroute.recorder.v1.Recorder.write": NOT_SERVING while its disk is
  // full, when reads still work and the overall status stays SERVING.
  std::vector<std::pair<std::string, std::function<absl::Status()>>> named_health_probes;
  // Called once the server listens, with the bound port (e.g. to print "listening on ...").
  // The metrics and health ports are printed by RunServer before ("metrics on HOST:PORT",
  // "health on HOST:PORT").
  std::function<void(int port)> on_started;
  // Called after the gRPC server stopped, before returning (flush, close stores).
  std::function<void()> on_shutdown;
};

// Builds and runs the server with the given services (not owned; must outlive the call), blocks
// until SIGTERM/SIGINT. `registry` is exposed on metrics_listen. Returns INVALID_ARGUMENT naming
// the flag and file for unusable TLS files (before binding anything), UNAVAILABLE if the address
// cannot be bound.
absl::Status RunServer(const ServerRunnerOptions& options,
                       const std::vector<grpc::Service*>& services,
                       std::shared_ptr<prometheus::Registry> registry);

// Installs SIGTERM/SIGINT handlers and returns a function that blocks until one arrives.
// Exposed for tests and for mains that run several servers. Thread-safe.
void InstallShutdownSignalHandlers();
void WaitForShutdownSignal();
// Requests shutdown as if a signal arrived (tests).
void RequestShutdown();

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_SERVER_RUNNER_H_
