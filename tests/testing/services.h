// Test support: a monoroute service binary (monoroute-recorder, -analysis, -trainer) started as a
// child process on 127.0.0.1 port 0 for gRPC, metrics and (optionally) the plaintext health port;
// the bound ports are read from the lines the binaries print ("listening on", "metrics on",
// "health on"); and the three started together, the trainer and the analysis on the recorder.
// Header-only. Not thread-safe.
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
  absl::Status s =
      p->Start(slash == std::string::npos ? binary : binary.substr(slash + 1), argv, log);
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

// The three services as children of the test: a recorder, and a trainer and an analysis service
// that use it; each with the ports it bound.
struct ServiceStack {
  ServiceProcess recorder, trainer, analysis;
  ServicePorts rec, tra, ana;
};

// Starts `stack`'s services from MONOROUTE_BIN_DIR with StartService (health ports on): the
// recorder with data dir `dir`/rec, the trainer with data dir `dir`/trainer, then `trainer_args`,
// the analysis with `analysis_args`, both with --recorder; logs in `dir`/<service>.log.
inline absl::Status StartServiceStack(ServiceStack* stack, const std::string& dir,
                                      const std::vector<std::string>& trainer_args = {},
                                      const std::vector<std::string>& analysis_args = {}) {
  const std::string bin = MONOROUTE_BIN_DIR;
  absl::StatusOr<ServicePorts> rec =
      StartService(&stack->recorder, bin + "/monoroute-recorder", {"--data-dir", dir + "/rec"},
                   dir + "/recorder.log");
  if (!rec.ok()) return rec.status();
  stack->rec = *rec;
  std::vector<std::string> args = {"--data-dir", dir + "/trainer", "--recorder", rec->address()};
  args.insert(args.end(), trainer_args.begin(), trainer_args.end());
  absl::StatusOr<ServicePorts> tra =
      StartService(&stack->trainer, bin + "/monoroute-trainer", args, dir + "/trainer.log");
  if (!tra.ok()) return tra.status();
  stack->tra = *tra;
  args = {"--recorder", rec->address()};
  args.insert(args.end(), analysis_args.begin(), analysis_args.end());
  absl::StatusOr<ServicePorts> ana =
      StartService(&stack->analysis, bin + "/monoroute-analysis", args, dir + "/analysis.log");
  if (!ana.ok()) return ana.status();
  stack->ana = *ana;
  return absl::OkStatus();
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_SERVICES_H_
