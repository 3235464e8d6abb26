// ExplorerHttpServer: civetweb options and TLS, the auth gate, the login form, query parsing and
// the response headers (strict Content-Security-Policy: the pages load nothing and run no
// script).
#include "services/analysis/explorer/http_server.h"

#include <civetweb.h>
#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/analysis/explorer/explorer_json.h"

namespace monoroute::analysis::explorer {
namespace {

constexpr size_t kMaxUri = 2048;
constexpr size_t kMaxQuery = 16384;
constexpr size_t kMaxLoginBody = 4096;
constexpr const char* kCookie = "monoroute_session";

int Trampoline(mg_connection* conn, void* self) {
  return static_cast<ExplorerHttpServer*>(self)->HandleRequest(conn);
}

int InitSslTrampoline(void* ssl_ctx, void* self) {
  return static_cast<ExplorerHttpServer*>(self)->InitSsl(ssl_ctx);
}

std::string UrlDecode(absl::string_view s) {
  std::string out(s.size() + 1, '\0');
  const int n = mg_url_decode(s.data(), static_cast<int>(s.size()), out.data(),
                              static_cast<int>(out.size()), /*is_form_url_encoded=*/1);
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::map<std::string, std::string> ParseQuery(absl::string_view q) {
  std::map<std::string, std::string> out;
  for (absl::string_view kv : absl::StrSplit(q, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    out[UrlDecode(p.first)] = UrlDecode(p.second);
  }
  return out;
}

void Send(mg_connection* conn, int status, const std::string& type, const std::string& body,
          const std::string& extra_headers = "") {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
            "Referrer-Policy: no-referrer\r\nContent-Security-Policy: default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
            "frame-ancestors 'none'\r\n%sConnection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), type.c_str(), body.size(),
            extra_headers.c_str());
  mg_write(conn, body.data(), body.size());
}

// A local path to return to after logging in ("/" for anything else: no open redirect).
std::string SafeNext(const std::string& next) {
  if (next.empty() || next[0] != '/' || (next.size() > 1 && (next[1] == '/' || next[1] == '\\')) ||
      next.find_first_of("\r\n") != std::string::npos) {
    return "/";
  }
  return next;
}

// Whether civetweb's dynamically loaded OpenSSL table is complete: civetweb 1.15 looks up
// SSL_get_peer_certificate, a macro (not a symbol) since OpenSSL 3, and calls the missing entry
// (a null pointer) on every TLS connection.
bool CivetwebTlsUsable() {
  void* ssl = dlopen("libssl.so", RTLD_LAZY | RTLD_LOCAL);
  if (ssl == nullptr) return false;
  const bool ok = dlsym(ssl, "SSL_get_peer_certificate") != nullptr;
  dlclose(ssl);
  return ok;
}

std::string SessionDigest(const std::string& token) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  const std::string in = "monoroute-explorer-session\n" + token;
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), d);
  std::string hex;
  for (unsigned char c : d) absl::StrAppendFormat(&hex, "%02x", c);
  return hex;
}

}  // namespace

ExplorerHttpServer::ExplorerHttpServer(const ExplorerHttpOptions& options, ExplorerSite* site)
    : options_(options), site_(site), auth_(options.auth) {
  if (auth_.enabled()) session_ = SessionDigest(options.auth.token);
}

ExplorerHttpServer::~ExplorerHttpServer() {
  if (ctx_ != nullptr) mg_stop(ctx_);
}

absl::StatusOr<std::unique_ptr<ExplorerHttpServer>> ExplorerHttpServer::Start(
    const ExplorerHttpOptions& options, ExplorerSite* site) {
  const bool tls = options.tls.enabled();
  if (tls) {  // the same checks as the gRPC port (readable PEM, matching key)
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> c =
        ServerCredentialsFromOptions(options.tls);
    if (!c.ok()) return c.status();
  }
  static std::once_flag init;
  std::call_once(init, [] { mg_init_library(MG_FEATURES_SSL); });
  if (tls && (!mg_check_feature(MG_FEATURES_SSL) || !CivetwebTlsUsable())) {
    // Never fall back to plaintext next to a TLS gRPC port.
    return absl::FailedPreconditionError(
        "--http-listen with --tls-cert: this build's civetweb cannot serve TLS (Debian 12's "
        "libcivetweb 1.15 calls SSL_get_peer_certificate, which OpenSSL 3 no longer exports, and "
        "crashes on the first request); serve the explorer without TLS flags behind a TLS proxy, "
        "or use `monoroute explore` (docs/explorer.md)");
  }
  std::unique_ptr<ExplorerHttpServer> s(new ExplorerHttpServer(options, site));
  const std::string ports = options.listen + (tls ? "s" : "");
  const std::string threads = std::to_string(std::max(1, options.threads));
  const char* opts[] = {"listening_ports",
                        ports.c_str(),
                        "num_threads",
                        threads.c_str(),
                        "request_timeout_ms",
                        "300000",
                        "enable_auth_domain_check",
                        "no",
                        nullptr};
  mg_callbacks cb{};
  if (tls) cb.init_ssl = InitSslTrampoline;
  s->ctx_ = mg_start(&cb, s.get(), opts);
  if (s->ctx_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("--http-listen ", options.listen,
                                               ": cannot listen (address in use or invalid?)"));
  }
  mg_set_request_handler(s->ctx_, "/", Trampoline, s.get());
  mg_server_port sp[4];
  const int n = mg_get_server_ports(s->ctx_, 4, sp);
  if (n <= 0) return absl::UnavailableError("--http-listen: no bound port");
  s->port_ = sp[0].port;
  return s;
}

int ExplorerHttpServer::InitSsl(void* ssl_ctx) {
  SSL_CTX* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  const ServerTlsOptions& t = options_.tls;
  if (SSL_CTX_use_certificate_chain_file(ctx, t.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, t.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return -1;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (!t.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, t.client_ca_file.c_str(), nullptr) != 1) return -1;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return 1;  // configured here; civetweb loads no files itself
}

bool ExplorerHttpServer::Authorized(mg_connection* conn) const {
  if (!auth_.enabled()) return true;
  if (const char* h = mg_get_header(conn, "Authorization"); h != nullptr) {
    return auth_.CheckValues({absl::string_view(h)}, RpcAccess::kWrite).ok();
  }
  char cookie[256];
  if (mg_get_cookie(mg_get_header(conn, "Cookie"), kCookie, cookie, sizeof(cookie)) > 0) {
    return TokensEqual(cookie, session_);
  }
  return false;
}

int ExplorerHttpServer::Login(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  if (std::string(ri->request_method) != "POST") {
    const auto q = ParseQuery(ri->query_string ? ri->query_string : "");
    auto it = q.find("next");
    Send(conn, 200, "text/html; charset=utf-8",
         RenderLoginPage(SafeNext(it == q.end() ? "/" : it->second), false));
    return 200;
  }
  if (ri->content_length < 0 || ri->content_length > static_cast<long long>(kMaxLoginBody)) {
    Send(conn, 413, "text/plain", "login form too large\n");
    return 413;
  }
  std::string body(static_cast<size_t>(ri->content_length), '\0');
  const int got = mg_read(conn, body.data(), body.size());
  body.resize(got < 0 ? 0 : static_cast<size_t>(got));
  const auto form = ParseQuery(body);
  auto tok = form.find("token");
  auto next = form.find("next");
  const std::string to = SafeNext(next == form.end() ? "/" : next->second);
  if (!auth_.enabled() || (tok != form.end() && TokensEqual(tok->second, options_.auth.token))) {
    const std::string cookie = auth_.enabled()
                                   ? absl::StrCat("Set-Cookie: ", kCookie, "=", session_,
                                                  "; Path=/; HttpOnly; SameSite=Strict",
                                                  options_.tls.enabled() ? "; Secure" : "", "\r\n")
                                   : "";
    Send(conn, 303, "text/plain", "logged in\n", absl::StrCat(cookie, "Location: ", to, "\r\n"));
    return 303;
  }
  Send(conn, 401, "text/html; charset=utf-8", RenderLoginPage(to, true));
  return 401;
}

int ExplorerHttpServer::HandleRequest(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const std::string path = ri->local_uri ? ri->local_uri : "/";
  const char* query = ri->query_string ? ri->query_string : "";
  if (path.size() > kMaxUri || std::strlen(query) > kMaxQuery) {
    Send(conn, 414, "text/plain", "URI too long\n");
    return 414;
  }
  if (path == "/login") return Login(conn);
  const bool api = path.rfind("/api/", 0) == 0 || path == "/api";
  if (!Authorized(conn)) {
    if (api) {
      Send(conn, 401, "application/json", ErrorJson(401, "missing or wrong bearer token"),
           "WWW-Authenticate: Bearer\r\n");
    } else {
      std::string next = path;
      if (*query) absl::StrAppend(&next, "?", query);
      Send(conn, 401, "text/html; charset=utf-8", RenderLoginPage(SafeNext(next), false),
           "WWW-Authenticate: Bearer\r\n");
    }
    return 401;
  }
  if (std::string(ri->request_method) != "GET" && std::string(ri->request_method) != "HEAD") {
    Send(conn, 405, "text/plain", "only GET\n", "Allow: GET\r\n");
    return 405;
  }
  SiteResponse r = site_->Handle(path, ParseQuery(query));
  const std::string extra =
      r.location.empty() ? "" : absl::StrCat("Location: ", r.location, "\r\n");
  Send(conn, r.status, r.content_type, r.body, extra);
  return r.status;
}

}  // namespace monoroute::analysis::explorer
