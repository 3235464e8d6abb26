// The explorer's HTTP(S) server (civetweb) in monoroute-analysis (--http-listen): serves
// ExplorerSite's pages and API under the same TLS files and bearer token as the gRPC port. With a
// token configured every page and API call needs it -- an "Authorization: Bearer <token>" header,
// or the session cookie set by the token login form (/login) -- and answers 401 without it (the
// login form for pages, a JSON error for /api). Runs on its own threads, so a slow page never
// holds a gRPC thread.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_HTTP_SERVER_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/service/auth.h"
#include "common/service/tls_credentials.h"
#include "services/analysis/explorer/explorer_site.h"

struct mg_context;
struct mg_connection;

namespace monoroute::analysis::explorer {

struct ExplorerHttpOptions {
  // host:port to listen on; port 0 picks a free port (see port()).
  std::string listen = "127.0.0.1:0";
  // TLS (the gRPC port's --tls-cert/--tls-key/--tls-client-ca); plaintext when not enabled.
  ServerTlsOptions tls;
  // The bearer token; empty: pages are open.
  AuthOptions auth;
  // Worker threads answering requests.
  int threads = 4;
};

// Owns the civetweb context; stops it on destruction. Thread-safe.
class ExplorerHttpServer {
 public:
  // Starts serving `site` (not owned; must outlive the server). INVALID_ARGUMENT naming the flag
  // for unusable TLS files, UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<ExplorerHttpServer>> Start(
      const ExplorerHttpOptions& options, ExplorerSite* site);
  ~ExplorerHttpServer();
  ExplorerHttpServer(const ExplorerHttpServer&) = delete;
  ExplorerHttpServer& operator=(const ExplorerHttpServer&) = delete;

  // The bound port.
  int port() const { return port_; }
  // "http" or "https".
  const char* scheme() const { return options_.tls.enabled() ? "https" : "http"; }

  // Request entry point (civetweb callback; public for the C trampoline).
  int HandleRequest(mg_connection* conn);
  // TLS setup of civetweb's SSL_CTX from the options (civetweb callback).
  int InitSsl(void* ssl_ctx);

 private:
  ExplorerHttpServer(const ExplorerHttpOptions& options, ExplorerSite* site);
  bool Authorized(mg_connection* conn) const;
  int Login(mg_connection* conn);

  ExplorerHttpOptions options_;
  ExplorerSite* site_;
  BearerAuth auth_;
  // The session cookie's value: a digest of the token (the cookie never holds the token).
  std::string session_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_HTTP_SERVER_H_
