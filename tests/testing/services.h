// Test support: a monoroute service binary (monoroute-recorder, -analysis, -trainer) started as a
// child process on 127.0.0.1 port 0 for gRPC, metrics and (optionally) the plaintext health port;
// the bound ports are read from the lines the binaries print ("listening on", "metrics on",
// "health on"). Header-only. Not thread-safe.
#ifndef MONOROUTE_TESTS_TESTING_SERVICES_H_
#define MONOROUTE_TESTS_TESTING_SERVICES_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/process.h"

namespace monoroute::testing {

// Ports a started service bound.
struct ServicePorts {
  int grpc = 0;
  int metrics = 0;
  int health = 0;  // 0 unless started with the health port
  std::string address() const { return "127.0.0.1:" + std::to_string(grpc); }
};

// Starts `binary` (a path) with `args` plus --listen/--metrics-listen 127.0.0.1:0 (and
// --health-listen 127.0.0.1:0 when `health`), output in `log`, and waits up to 60 s for its ports.
inline absl::StatusOr<ServicePorts> StartService(ServiceProcess* p, const std::string& binary,
                                                 std::vector<std::string> args,
                                                 const std::string& log, bool health = true) {
  std::vector<std::string> argv = {binary, "--listen", "127.0.0.1:0", "--metrics-listen",
                                   "127.0.0.1:0"};
  if (health) argv.insert(argv.end(), {"--health-listen", "127.0.0.1:0"});
  argv.insert(argv.end(), args.begin(), args.end());
  const size_t slash = binary.rfind('/');
  absl::Status s = p->Start(slash == std::string::npos ? binary : binary.substr(slash + 1), argv,
                            log);
  if (!s.ok()) return s;
  ServicePorts ports;
  const auto timeout = std::chrono::seconds(60);
  absl::StatusOr<int> port = p->WaitForLogPort("listening on (?:[0-9.]+:|port )([0-9]+)", timeout);
  if (!port.ok()) return port.status();
  ports.grpc = *port;
  port = p->WaitForLogPort("metrics on [0-9.]+:([0-9]+)", timeout);
  if (!port.ok()) return port.status();
  ports.metrics = *port;
  if (health) {
    port = p->WaitForLogPort("health on [0-9.]+:([0-9]+)", timeout);
    if (!port.ok()) return port.status();
    ports.health = *port;
  }
  return ports;
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_SERVICES_H_
