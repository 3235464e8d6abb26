// Shared server and channel flags.
#include "common/service/service_flags.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace monoroute {

void AddServerFlags(CLI::App* app, const std::string& write_rpcs, ServerFlags* f) {
  app->add_option("--tls-cert", f->tls.cert_file,
                  "PEM certificate chain: serve TLS only (with --tls-key)");
  app->add_option("--tls-key", f->tls.key_file, "PEM private key of --tls-cert");
  app->add_option("--tls-client-ca", f->tls.client_ca_file,
                  "PEM CA bundle: require client certificates signed by it (mutual TLS)");
  std::string token_help = absl::StrCat("file with the bearer token required on ", write_rpcs);
  if (!f->token_env.empty()) absl::StrAppend(&token_help, " (default: env ", f->token_env, ")");
  absl::StrAppend(&token_help, "; no token: no auth");
  app->add_option("--auth-token-file", f->auth_token_file, token_help);
  app->add_flag("--auth-reads", f->auth_reads, "read RPCs need the bearer token too");
  app->add_option("--max-receive-mb,--max-message-mb", f->max_receive_mb,
                  "largest request message accepted, in MiB")
      ->capture_default_str()
      ->check(CLI::Range(1, 2047));
  app->add_option("--max-send-mb", f->max_send_mb, "largest response message sent, in MiB")
      ->capture_default_str()
      ->check(CLI::Range(1, 2047));
  app->add_option("--health-listen", f->health_listen,
                  "plaintext host:port serving only grpc.health.v1 (readiness \"\", liveness "
                  "\"liveness\"), for probes that cannot use TLS; empty: off")
      ->capture_default_str();
}

absl::StatusOr<AuthOptions> LoadAuthOptions(const ServerFlags& f) {
  AuthOptions o;
  o.auth_reads = f.auth_reads;
  if (!f.auth_token_file.empty()) {
    absl::StatusOr<std::string> t = ReadTokenFile("--auth-token-file", f.auth_token_file);
    if (!t.ok()) return t.status();
    o.token = std::move(*t);
  } else if (const char* env = f.token_env.empty() ? nullptr : std::getenv(f.token_env.c_str());
             env != nullptr && *env != '\0') {
    o.token = std::string(absl::StripAsciiWhitespace(env));
    absl::Status s = ValidateToken(absl::StrCat("env ", f.token_env), o.token);
    if (!s.ok()) return s;
  }
  if (o.auth_reads && o.token.empty()) {
    return absl::InvalidArgumentError("--auth-reads needs a token (--auth-token-file)");
  }
  return o;
}

void ApplyServerFlags(const ServerFlags& f, ServerRunnerOptions* r) {
  r->tls = f.tls;
  r->max_receive_message_bytes = f.max_receive_mb << 20;
  r->max_send_message_bytes = f.max_send_mb << 20;
  r->health_listen = f.health_listen;
}

std::string DescribeTls(const ServerTlsOptions& tls) {
  if (!tls.enabled()) return "plaintext";
  return tls.client_ca_file.empty() ? "TLS" : "mutual TLS";
}

}  // namespace monoroute
