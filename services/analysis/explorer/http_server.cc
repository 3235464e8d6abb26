// ExplorerHttpServer on cpp-httplib: TLS (the gRPC port's files, TLS >= 1.2, mutual TLS with a
// client CA), the auth gate, the login form, query parsing and the response headers (strict
// Content-Security-Policy: the pages load nothing and run no script).
#include "services/analysis/explorer/http_server.h"

#include <httplib.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include <chrono>
#include <map>

#include "absl/strings/numbers.h"
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

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding ('+' is a space; a bad escape is kept as is).
std::string UrlDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
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

// The raw query string of the request target ("" when none).
absl::string_view QueryOf(const httplib::Request& req) {
  const size_t q = req.target.find('?');
  return q == std::string::npos ? absl::string_view() : absl::string_view(req.target).substr(q + 1);
}

void Send(httplib::Response& res, int status, const std::string& type, const std::string& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                 "form-action 'self'; frame-ancestors 'none'");
  res.set_content(body, type.c_str());
}

// A local path to return to after logging in ("/" for anything else: no open redirect).
std::string SafeNext(const std::string& next) {
  if (next.empty() || next[0] != '/' || (next.size() > 1 && (next[1] == '/' || next[1] == '\\')) ||
      next.find_first_of("\r\n") != std::string::npos) {
    return "/";
  }
  return next;
}

std::string SessionDigest(const std::string& token) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  const std::string in = "monoroute-explorer-session\n" + token;
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), d);
  std::string hex;
  for (unsigned char c : d) absl::StrAppendFormat(&hex, "%02x", c);
  return hex;
}

// The value of cookie `name` in a Cookie header ("" when absent).
std::string CookieValue(const std::string& header, absl::string_view name) {
  for (absl::string_view part : absl::StrSplit(header, ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, name) && absl::ConsumePrefix(&part, "=")) {
      return std::string(part);
    }
  }
  return "";
}

// The SSL_CTX of the TLS port from the gRPC port's files.
bool SetupTls(const ServerTlsOptions& t, SSL_CTX& ctx) {
  if (SSL_CTX_use_certificate_chain_file(&ctx, t.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(&ctx, t.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(&ctx) != 1) {
    return false;
  }
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  if (!t.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(&ctx, t.client_ca_file.c_str(), nullptr) != 1) return false;
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return true;
}

}  // namespace

ExplorerHttpServer::ExplorerHttpServer(const ExplorerHttpOptions& options, ExplorerSite* site)
    : options_(options), site_(site), auth_(options.auth) {
  if (auth_.enabled()) session_ = SessionDigest(options.auth.token);
}

ExplorerHttpServer::~ExplorerHttpServer() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<std::unique_ptr<ExplorerHttpServer>> ExplorerHttpServer::Start(
    const ExplorerHttpOptions& options, ExplorerSite* site) {
  const bool tls = options.tls.enabled();
  if (tls) {  // the same checks as the gRPC port (readable PEM, matching key)
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> c =
        ServerCredentialsFromOptions(options.tls);
    if (!c.ok()) return c.status();
  }
  const size_t colon = options.listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(options.listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http-listen: '", options.listen, "' is not host:port"));
  }
  std::string host = options.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::unique_ptr<ExplorerHttpServer> s(new ExplorerHttpServer(options, site));
  if (tls) {
    const ServerTlsOptions t = options.tls;
    auto ssl = std::make_unique<httplib::SSLServer>([t](SSL_CTX& ctx) { return SetupTls(t, ctx); });
    if (!ssl->is_valid()) {
      return absl::InvalidArgumentError(
          "--tls-cert / --tls-key / --tls-client-ca: OpenSSL refused them for --http-listen");
    }
    s->server_ = std::move(ssl);
  } else {
    s->server_ = std::make_unique<httplib::Server>();
  }
  const size_t threads = static_cast<size_t>(std::max(1, options.threads));
  s->server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which lets a second process bind
  // the same port.
  s->server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  s->server_->set_payload_max_length(kMaxLoginBody);
  s->server_->set_read_timeout(std::chrono::seconds(30));
  s->server_->set_write_timeout(std::chrono::seconds(300));
  ExplorerHttpServer* self = s.get();
  auto handler = [self](const httplib::Request& req, httplib::Response& res) {
    self->Handle(req, res);
  };
  s->server_->Get(".*", handler);
  s->server_->Post(".*", handler);
  s->server_->Put(".*", handler);
  s->server_->Patch(".*", handler);
  s->server_->Delete(".*", handler);
  s->server_->Options(".*", handler);
  s->port_ = port == 0 ? s->server_->bind_to_any_port(host)
                       : (s->server_->bind_to_port(host, port) ? port : -1);
  if (s->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("--http-listen ", options.listen,
                                               ": cannot listen (address in use or invalid?)"));
  }
  s->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  // stop() only stops a server that runs: wait for the loop so that destruction cannot race it.
  for (int i = 0; i < 10000 && !s->server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return s;
}

bool ExplorerHttpServer::Authorized(const httplib::Request& req) const {
  if (!auth_.enabled()) return true;
  if (req.has_header("Authorization")) {
    const std::string h = req.get_header_value("Authorization");
    return auth_.CheckValues({absl::string_view(h)}, RpcAccess::kWrite).ok();
  }
  const std::string cookie = CookieValue(req.get_header_value("Cookie"), kCookie);
  return !cookie.empty() && TokensEqual(cookie, session_);
}

void ExplorerHttpServer::Login(const httplib::Request& req, httplib::Response& res) const {
  if (req.method != "POST") {
    const auto q = ParseQuery(QueryOf(req));
    auto it = q.find("next");
    Send(res, 200, "text/html; charset=utf-8",
         RenderLoginPage(SafeNext(it == q.end() ? "/" : it->second), false));
    return;
  }
  const auto form = ParseQuery(req.body);
  auto tok = form.find("token");
  auto next = form.find("next");
  const std::string to = SafeNext(next == form.end() ? "/" : next->second);
  if (!auth_.enabled() || (tok != form.end() && TokensEqual(tok->second, options_.auth.token))) {
    if (auth_.enabled()) {
      res.set_header("Set-Cookie",
                     absl::StrCat(kCookie, "=", session_, "; Path=/; HttpOnly; SameSite=Strict",
                                  options_.tls.enabled() ? "; Secure" : ""));
    }
    res.set_header("Location", to);
    Send(res, 303, "text/plain", "logged in\n");
    return;
  }
  Send(res, 401, "text/html; charset=utf-8", RenderLoginPage(to, true));
}

void ExplorerHttpServer::Handle(const httplib::Request& req, httplib::Response& res) const {
  const std::string& path = req.path.empty() ? std::string("/") : req.path;
  const absl::string_view query = QueryOf(req);
  if (path.size() > kMaxUri || query.size() > kMaxQuery) {
    Send(res, 414, "text/plain", "URI too long\n");
    return;
  }
  if (path == "/login") return Login(req, res);
  const bool api = path.rfind("/api/", 0) == 0 || path == "/api";
  if (!Authorized(req)) {
    res.set_header("WWW-Authenticate", "Bearer");
    if (api) {
      Send(res, 401, "application/json", ErrorJson(401, "missing or wrong bearer token"));
    } else {
      std::string next = path;
      if (!query.empty()) absl::StrAppend(&next, "?", query);
      Send(res, 401, "text/html; charset=utf-8", RenderLoginPage(SafeNext(next), false));
    }
    return;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    res.set_header("Allow", "GET");
    Send(res, 405, "text/plain", "only GET\n");
    return;
  }
  SiteResponse r = site_->Handle(path, ParseQuery(query));
  if (!r.location.empty()) res.set_header("Location", r.location);
  Send(res, r.status, r.content_type, r.body);
}

}  // namespace monoroute::analysis::explorer
