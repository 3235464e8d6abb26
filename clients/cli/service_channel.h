// The one way the `monoroute` service subcommands connect: TLS flags with environment defaults
// (--tls-ca/--tls-cert/--tls-key/--tls-server-name, env MONOROUTE_TLS_CA/_CERT/_KEY/
// _SERVER_NAME), a channel built by common/service's CreateServiceChannel, and a wait for the
// connection with a hint about TLS when it fails. Header-only (the CLI globs only cmd_*.cc).
// Thread-compatible.
#ifndef MONOROUTE_CLIENTS_CLI_SERVICE_CHANNEL_H_
#define MONOROUTE_CLIENTS_CLI_SERVICE_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/service/auth.h"
#include "common/service/tls_credentials.h"

namespace monoroute::cli {

// The value of environment variable `name`, or `fallback` when unset or empty.
inline std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// TLS of a subcommand's connection (all empty: plaintext): the one channel TLS type.
using TlsFlags = ChannelTlsOptions;

// Adds --tls-ca/--tls-cert/--tls-key/--tls-server-name to `sub`, defaulting to the
// MONOROUTE_TLS_* environment variables.
inline void AddTlsFlags(CLI::App* sub, TlsFlags* f) {
  AddChannelTlsFlags(sub, "", f, "MONOROUTE_TLS");
}

// A hint appended to "not reachable" errors: what to check about TLS.
inline std::string TlsHint(const TlsFlags& f) {
  if (f.ca_file.empty() && f.cert_file.empty()) {
    return "; if it serves TLS, pass --tls-ca (env MONOROUTE_TLS_CA)";
  }
  return "; TLS: check that --tls-ca signed its certificate, that the certificate names the "
         "host (or --tls-server-name), and --tls-cert/--tls-key if it requires client "
         "certificates";
}

// A channel to `address` with `tls` and a receive limit of `max_receive_bytes`, connected within
// `wait_s` seconds. INVALID_ARGUMENT for unusable TLS files (naming flag and file); UNAVAILABLE
// "did not answer" otherwise (callers prefix what they tried to reach).
inline absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectService(const std::string& address,
                                                                     const TlsFlags& tls,
                                                                     int max_receive_bytes,
                                                                     double wait_s) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_receive_bytes);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateServiceChannel(address, tls, args);
  if (!channel.ok()) return channel.status();
  auto deadline = std::chrono::system_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000));
  if (!(*channel)->WaitForConnected(deadline)) {
    return absl::UnavailableError(absl::StrCat("did not answer within ", wait_s, " s"));
  }
  return channel;
}

// The bearer token of a subcommand: `token_file` when set, else env `token_env`, else "".
// INVALID_ARGUMENT naming --token-file (or the variable) when unusable.
inline absl::StatusOr<std::string> LoadCliToken(const std::string& token_file,
                                                const char* token_env) {
  if (!token_file.empty()) return ReadTokenFile("--token-file", token_file);
  std::string t(absl::StripAsciiWhitespace(EnvOr(token_env, "")));
  if (t.empty()) return t;
  absl::Status s = ValidateToken(absl::StrCat("env ", token_env), t);
  if (!s.ok()) return s;
  return t;
}

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_SERVICE_CHANNEL_H_
