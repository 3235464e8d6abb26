// Command-line flags every server shares (TLS, bearer token, message limits) and the flags of an
// outgoing TLS channel, so the three mains declare them identically. Flag parsing only: the
// credentials are built by tls_credentials.h, the check by auth.h, the server by RunServer.
#ifndef MONOROUTE_COMMON_SERVICE_SERVICE_FLAGS_H_
#define MONOROUTE_COMMON_SERVICE_SERVICE_FLAGS_H_

#include <CLI/CLI.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "common/service/auth.h"
#include "common/service/server_runner.h"
#include "common/service/tls_credentials.h"

namespace monoroute {

// Values of the shared server flags. Set the defaults before AddServerFlags.
struct ServerFlags {
  // --tls-cert, --tls-key, --tls-client-ca.
  ServerTlsOptions tls;
  // --auth-token-file: the bearer token required on write RPCs.
  std::string auth_token_file;
  // --auth-reads: read RPCs need the token too.
  bool auth_reads = false;
  // --max-receive-mb: largest request message accepted, in MiB.
  int max_receive_mb = 4;
  // --max-send-mb: largest response message sent, in MiB.
  int max_send_mb = 64;
  // --health-listen: plaintext port serving only grpc.health.v1 (Kubernetes grpc probes); "": off.
  std::string health_listen;
  // Environment variable holding the token when --auth-token-file is not given ("": none).
  std::string token_env;
};

// Adds the shared server flags to `app`, bound to `flags` (defaults shown in --help).
// `write_rpcs` lists the service's write RPCs for the --auth-token-file help text.
void AddServerFlags(CLI::App* app, const std::string& write_rpcs, ServerFlags* flags);

// The AuthOptions of `flags`: the token from --auth-token-file, else from the token_env variable
// (validated), else none. INVALID_ARGUMENT naming the flag/variable and file on error, and when
// --auth-reads is given without a token.
absl::StatusOr<AuthOptions> LoadAuthOptions(const ServerFlags& flags);

// Copies TLS, message limits and the health port into the runner's options.
void ApplyServerFlags(const ServerFlags& flags, ServerRunnerOptions* runner);

// "plaintext", "TLS" or "mutual TLS" (for the startup line).
std::string DescribeTls(const ServerTlsOptions& tls);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_SERVICE_FLAGS_H_
