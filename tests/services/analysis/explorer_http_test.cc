// ExplorerHttpServer in process over an in-memory site (the planted run): the token gate (401 for
// pages and the API, bearer header, login form, session cookie, no open redirect), the security
// headers, 405 for other methods; and HTTPS from the gRPC port's certificate files (a test PKI
// made by deploy/tls/make-certs.sh): verified against the CA, plaintext refused, mutual TLS
// refusing a client without a certificate.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>

#include "services/analysis/explorer/http_server.h"
#include "tests/common/service/service_test_util.h"
#include "tests/services/analysis/explorer_planted.h"

namespace monoroute::analysis::explorer {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class PlantedData : public ExplorerData {
 public:
  absl::StatusOr<std::vector<RunListing>> ListRuns() override {
    RunListing r;
    r.run_id = "planted";
    return std::vector<RunListing>{r};
  }
  absl::StatusOr<std::shared_ptr<const RunEvents>> Events(const std::string& run,
                                                          const std::string&) override {
    if (run != "planted") return absl::NotFoundError("run " + run);
    return run_;
  }
  absl::StatusOr<std::string> ReportJson(const std::string&, const std::string&) override {
    return absl::UnavailableError("no report here");
  }
  absl::StatusOr<TryResult> Try(const std::string&, const std::string&,
                                const std::string&) override {
    return absl::UnimplementedError("no try here");
  }

 private:
  std::shared_ptr<const RunEvents> run_ = std::make_shared<RunEvents>(testing::PlantedRun(10));
};

class ExplorerHttpTest : public ::testing::Test {
 protected:
  std::unique_ptr<ExplorerHttpServer> Start(ExplorerHttpOptions o) {
    auto s = ExplorerHttpServer::Start(o, &site_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }
  PlantedData data_;
  ExplorerSite site_{&data_, testing::PlantedText, ExplorerOptions{}};
};

TEST_F(ExplorerHttpTest, TokenGateLoginAndHeaders) {
  ExplorerHttpOptions o;
  o.auth.token = "s3cret-token";
  auto server = Start(o);
  ASSERT_NE(server, nullptr);
  EXPECT_STREQ(server->scheme(), "http");
  httplib::Client c("127.0.0.1", server->port());
  const std::string pathway = "/runs/planted/layers/0/pathways/5";

  auto api = c.Get("/api/runs");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 401);
  EXPECT_THAT(api->body, HasSubstr("\"code\":401"));
  EXPECT_EQ(api->get_header_value("WWW-Authenticate"), "Bearer");
  auto page = c.Get(pathway.c_str());
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 401);
  EXPECT_THAT(page->body, HasSubstr("Token required"));
  EXPECT_THAT(page->body, Not(HasSubstr("dragon")));  // nothing readable without the token

  auto bearer = c.Get(pathway.c_str(), {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  EXPECT_THAT(bearer->body, HasSubstr(" dragon"));
  EXPECT_THAT(bearer->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'none'"));
  EXPECT_EQ(c.Get(pathway.c_str(), {{"Authorization", "Bearer wrong"}})->status, 401);

  auto bad = c.Post("/login", "token=wrong&next=%2Fruns", "application/x-www-form-urlencoded");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 401);
  auto login = c.Post("/login", "token=s3cret-token&next=%2Fruns%2Fplanted",
                      "application/x-www-form-urlencoded");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 303);
  EXPECT_EQ(login->get_header_value("Location"), "/runs/planted");
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_THAT(cookie, HasSubstr("HttpOnly; SameSite=Strict"));
  EXPECT_THAT(cookie, Not(HasSubstr("s3cret-token")));  // a digest, never the token
  const std::string pair = cookie.substr(0, cookie.find(';'));
  auto with_cookie = c.Get("/api/runs/planted/layers/0/pathways/5", {{"Cookie", "a=b; " + pair}});
  ASSERT_TRUE(with_cookie);
  EXPECT_EQ(with_cookie->status, 200);
  EXPECT_THAT(with_cookie->body, HasSubstr("\"load\":10"));

  auto open_redirect = c.Post("/login", "token=s3cret-token&next=%2F%2Fevil.example",
                              "application/x-www-form-urlencoded");
  ASSERT_TRUE(open_redirect);
  EXPECT_EQ(open_redirect->get_header_value("Location"), "/");
  auto put = c.Put(pathway.c_str(), {{"Authorization", "Bearer s3cret-token"}}, "x", "text/plain");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  auto query = c.Get("/api/runs/planted/layers/0/pathways/5?top_contexts=2&split=valid",
                     {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(query);
  EXPECT_EQ(query->status, 200);
  EXPECT_THAT(query->body, HasSubstr("\"split\":\"valid\""));
  EXPECT_EQ(c.Get("/api/runs/nope", {{"Authorization", "Bearer s3cret-token"}})->status, 404);
}

TEST_F(ExplorerHttpTest, HttpsFromTheGrpcPortsFiles) {
  ::monoroute::testing::TempDir tmp("explorer_https");
  ::monoroute::testing::TestPki pki;
  std::string error;
  if (!::monoroute::testing::MakeTestPki(tmp.Sub("pki"), &pki, &error)) {
    GTEST_SKIP() << "needs openssl for the test PKI: " << error;
  }
  ExplorerHttpOptions o;
  o.tls.cert_file = pki.Cert("analysis");
  o.tls.key_file = pki.Key("analysis");
  auto server = Start(o);
  ASSERT_NE(server, nullptr);
  EXPECT_STREQ(server->scheme(), "https");

  httplib::SSLClient c("127.0.0.1", server->port());
  c.set_ca_cert_path(pki.ca.c_str());
  c.enable_server_certificate_verification(true);
  auto r = c.Get("/runs/planted/layers/0/pathways/5");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("<mark class=\"hit\""));

  httplib::Client plain("127.0.0.1", server->port());
  plain.set_connection_timeout(std::chrono::seconds(5));
  plain.set_read_timeout(std::chrono::seconds(5));
  auto p = plain.Get("/");
  EXPECT_TRUE(!p || p->status != 200);  // no plaintext beside TLS

  // Mutual TLS: a client certificate signed by the CA is required.
  ExplorerHttpOptions m = o;
  m.tls.client_ca_file = pki.ca;
  auto strict = Start(m);
  ASSERT_NE(strict, nullptr);
  httplib::SSLClient anon("127.0.0.1", strict->port());
  anon.set_ca_cert_path(pki.ca.c_str());
  anon.enable_server_certificate_verification(true);
  EXPECT_FALSE(anon.Get("/"));
  httplib::SSLClient with_cert("127.0.0.1", strict->port(), pki.client_cert, pki.client_key);
  with_cert.set_ca_cert_path(pki.ca.c_str());
  with_cert.enable_server_certificate_verification(true);
  auto ok = with_cert.Get("/api/runs");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);

  ExplorerHttpOptions broken = o;
  broken.tls.key_file = pki.Key("recorder");  // not the certificate's key
  EXPECT_FALSE(ExplorerHttpServer::Start(broken, &site_).ok());
}

TEST_F(ExplorerHttpTest, BadListenAddresses) {
  ExplorerHttpOptions o;
  o.listen = "no-port";
  auto a = ExplorerHttpServer::Start(o, &site_);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(a.status().message()), HasSubstr("--http-listen"));
  o.listen = "127.0.0.1:0";
  auto first = Start(o);
  ASSERT_NE(first, nullptr);
  o.listen = "127.0.0.1:" + std::to_string(first->port());
  auto second = ExplorerHttpServer::Start(o, &site_);
  ASSERT_FALSE(second.ok());  // in use
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace monoroute::analysis::explorer
