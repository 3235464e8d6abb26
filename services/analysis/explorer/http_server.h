// The explorer's HTTP(S) server (cpp-httplib, built with OpenSSL 3) in monoroute-analysis
// (--http-listen): serves ExplorerSite's pages and API under the same TLS files (and client CA)
// and bearer token as the gRPC port. With a token configured every page and API call needs it --
// an "Authorization: Bearer <token>" header, or the session cookie set by the token login form
// (/login) -- and answers 401 without it (the login form for pages, a JSON error for /api). Runs
// on its own threads, so a slow page never holds a gRPC thread.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_HTTP_SERVER_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/service/auth.h"
#include "common/service/tls_credentials.h"
#include "services/analysis/explorer/explorer_site.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

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

// Owns the server and its listening thread; stops both on destruction. Thread-safe.
class ExplorerHttpServer {
 public:
  // Starts serving `site` (not owned; must outlive the server). INVALID_ARGUMENT naming the flag
  // for unusable TLS files or a bad address, UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<ExplorerHttpServer>> Start(
      const ExplorerHttpOptions& options, ExplorerSite* site);
  ~ExplorerHttpServer();
  ExplorerHttpServer(const ExplorerHttpServer&) = delete;
  ExplorerHttpServer& operator=(const ExplorerHttpServer&) = delete;

  // The bound port.
  int port() const { return port_; }
  // "http" or "https".
  const char* scheme() const { return options_.tls.enabled() ? "https" : "http"; }

 private:
  ExplorerHttpServer(const ExplorerHttpOptions& options, ExplorerSite* site);
  void Handle(const httplib::Request& req, httplib::Response& res) const;
  bool Authorized(const httplib::Request& req) const;
  void Login(const httplib::Request& req, httplib::Response& res) const;

  ExplorerHttpOptions options_;
  ExplorerSite* site_;
  BearerAuth auth_;
  // The session cookie's value: a digest of the token (the cookie never holds the token).
  std::string session_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_HTTP_SERVER_H_
