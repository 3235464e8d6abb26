// `monoroute health --address HOST:PORT [--service NAME] [--tls-*]`: asks a server's
// grpc.health.v1 service for its status, like grpc_health_probe (compose healthchecks use it on the
// services' plaintext --health-listen port). Exit 0 when SERVING; 1 otherwise (NOT_SERVING,
// unreachable, unknown service), with the status in the error. `--service liveness` asks whether
// the process answers at all; the default "" is the readiness (NOT_SERVING while a dependency,
// e.g. the analysis service's recorder, is down).
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/cli/command.h"
#include "clients/cli/service_channel.h"
#include "common/base/status_macros.h"
#include "common/service/health_check.h"

namespace monoroute::cli {
namespace {

struct HealthOpts {
  std::string address;
  std::string service;
  double timeout_s = 2.0;
  TlsFlags tls;
};

absl::Status RunHealth(const HealthOpts& o) {
  if (o.address.empty()) return UsageError("--address HOST:PORT is required");
  if (!(o.timeout_s > 0)) return UsageError("--timeout must be > 0");
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateServiceChannel(o.address, o.tls);
  if (!channel.ok()) return channel.status();
  absl::StatusOr<ServingStatus> status = CheckHealth(
      *channel, o.service, std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000)));
  if (!status.ok()) {
    return absl::Status(status.status().code(),
                        absl::StrCat("health of ", o.address,
                                     o.service.empty() ? "" : absl::StrCat(" (", o.service, ")"),
                                     ": ", status.status().message()));
  }
  RETURN_IF_ERROR(PrintResult(
      {{"address", o.address}, {"service", o.service}, {"status", ServingStatusName(*status)}},
      absl::StrCat(o.address, o.service.empty() ? "" : " " + o.service, " ",
                   ServingStatusName(*status), "\n")));
  if (*status != ServingStatus::kServing) {
    return absl::UnavailableError(absl::StrCat(o.address, " is ", ServingStatusName(*status)));
  }
  return absl::OkStatus();
}

void AddFlags(CLI::App* sub, HealthOpts* o) {
  sub->add_option("--address", o->address, "host:port of the service (or its --health-listen)");
  sub->add_option("--service", o->service,
                  "Service name to ask for (default: the server as a whole; \"liveness\": the "
                  "process answers)");
  sub->add_option("--timeout", o->timeout_s, "Seconds to wait for the answer")
      ->capture_default_str();
  AddTlsFlags(sub, &o->tls);
}

MONOROUTE_REGISTER_COMMAND(
    health,
    Command<HealthOpts>(
        "health", "Ask a service's grpc.health.v1 endpoint whether it is SERVING (exit 0) or not",
        AddFlags, RunHealth));

}  // namespace
}  // namespace monoroute::cli
