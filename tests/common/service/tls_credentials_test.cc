// Tests of TLS credentials and RunServer's listening port with a PKI made by openssl in a temp
// dir: clear errors naming the flag and file for unusable files; plaintext, TLS and mutual-TLS
// round trips (a health check over the real server built by RunServer); plaintext refused on a
// TLS port; a client without a certificate, or with one from another CA, refused under mutual TLS;
// the server name checked; the receive limit applied.
#include "common/service/tls_credentials.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/service/server_runner.h"
#include "tests/common/service/service_test_util.h"

namespace monoroute {
namespace {

using testing::ClientTls;
using testing::HealthCheck;
using testing::MakeChannel;
using testing::TestPki;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    pki_ = new TestPki();
    other_ = new TestPki();
    std::string error;
    if (!testing::MakeTestPki(dir_->Sub("pki"), pki_, &error) ||
        !testing::MakeTestPki(dir_->Sub("other"), other_, &error)) {
      error_ = new std::string(error);
    }
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete other_;
    delete dir_;
    delete error_;
  }
  void SetUp() override { ASSERT_EQ(error_, nullptr) << *error_; }

  static ServerTlsOptions ServerTls(bool mutual) {
    ServerTlsOptions o;
    o.cert_file = pki_->Cert("recorder");
    o.key_file = pki_->Key("recorder");
    if (mutual) o.client_ca_file = pki_->ca;
    return o;
  }
  // RunServer options with ServerTls(mutual).
  static ServerRunnerOptions WithTls(bool mutual) {
    ServerRunnerOptions o;
    o.tls = ServerTls(mutual);
    return o;
  }

  static testing::TempDir* dir_;
  static TestPki* pki_;
  static TestPki* other_;  // a second, unrelated CA
  static std::string* error_;
};

testing::TempDir* TlsTest::dir_ = nullptr;
TestPki* TlsTest::pki_ = nullptr;
TestPki* TlsTest::other_ = nullptr;
std::string* TlsTest::error_ = nullptr;

// RunServer (health service only) on a thread for the duration of a test.
class RunningServer {
 public:
  explicit RunningServer(ServerRunnerOptions o) {
    std::promise<int> port;
    auto future = port.get_future();
    o.listen = "127.0.0.1:0";
    o.on_started = [&port](int p) { port.set_value(p); };
    thread_ = std::thread([this, o] { status_ = RunServer(o, {}, registry_); });
    if (future.wait_for(std::chrono::seconds(30)) == std::future_status::ready) {
      port_ = future.get();
    }
  }
  ~RunningServer() {
    RequestShutdown();
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  // A health check of this server from a client with `tls`, dialling `host` (on its port).
  grpc::Status Health(const ChannelTlsOptions& tls, const std::string& host = "127.0.0.1") const {
    return HealthCheck(MakeChannel(host + ":" + std::to_string(port_), tls));
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::thread thread_;
  absl::Status status_;
  int port_ = 0;
};

void ExpectError(const absl::Status& s, const std::string& flag, const std::string& file) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(flag), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find(file), absl::string_view::npos) << s;
}

TEST_F(TlsTest, UnusableFilesAreErrorsNamingFlagAndFile) {
  ServerTlsOptions o = ServerTls(false);
  o.cert_file = dir_->Sub("absent.crt");
  ExpectError(ServerCredentialsFromOptions(o).status(), "--tls-cert", o.cert_file);

  testing::WriteText(dir_->Sub("garbage.pem"), "not a certificate\n");
  o = ServerTls(false);
  o.cert_file = dir_->Sub("garbage.pem");
  ExpectError(ServerCredentialsFromOptions(o).status(), "--tls-cert", o.cert_file);

  o = ServerTls(false);
  o.key_file = pki_->ca;  // a certificate where the key belongs
  ExpectError(ServerCredentialsFromOptions(o).status(), "--tls-key", o.key_file);

  o = ServerTls(false);
  o.key_file = pki_->Key("trainer");  // a key of another certificate
  absl::Status mismatch = ServerCredentialsFromOptions(o).status();
  ExpectError(mismatch, "--tls-key", o.key_file);
  EXPECT_NE(mismatch.message().find("does not match"), absl::string_view::npos) << mismatch;

  o = ServerTls(false);
  o.key_file.clear();
  EXPECT_NE(ServerCredentialsFromOptions(o).status().message().find("--tls-key is missing"),
            absl::string_view::npos);

  o = ServerTls(true);
  o.client_ca_file = dir_->Sub("garbage.pem");
  ExpectError(ServerCredentialsFromOptions(o).status(), "--tls-client-ca", o.client_ca_file);

  // An encrypted key is refused (never prompts for a pass phrase).
  const std::string enc = dir_->Sub("encrypted.key");
  ASSERT_EQ(testing::RunCommand("openssl pkey -in '" + pki_->Key("recorder") +
                                "' -aes256 -passout pass:x -out '" + enc + "'")
                .code,
            0);
  o = ServerTls(false);
  o.key_file = enc;
  ExpectError(ServerCredentialsFromOptions(o).status(), "--tls-key", enc);

  ChannelTlsOptions c;
  c.flag_prefix = "--recorder-tls";
  c.ca_file = dir_->Sub("absent-ca.crt");
  ExpectError(ChannelCredentialsFromOptions(c).status(), "--recorder-tls-ca", c.ca_file);
  c = ClientTls(*pki_, true);
  c.flag_prefix = "--recorder-tls";
  c.key_file = pki_->Key("recorder");
  ExpectError(ChannelCredentialsFromOptions(c).status(), "--recorder-tls-key", c.key_file);
}

TEST_F(TlsTest, RunServerRefusesBadFilesBeforeListening) {
  ServerRunnerOptions o = WithTls(false);
  o.tls.cert_file = dir_->Sub("absent.crt");
  absl::Status s = RunServer(o, {}, std::make_shared<prometheus::Registry>());
  ExpectError(s, "--tls-cert", o.tls.cert_file);
}

TEST_F(TlsTest, PlaintextRoundTrip) {
  RunningServer server(ServerRunnerOptions{});
  ASSERT_NE(server.port(), 0);
  EXPECT_TRUE(server.Health({}).ok());
}

TEST_F(TlsTest, TlsRoundTripAndPlaintextRefused) {
  RunningServer server(WithTls(false));
  ASSERT_NE(server.port(), 0);
  grpc::Status ok = server.Health(ClientTls(*pki_, false));
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  // "localhost" is in the certificate too.
  ok = server.Health(ClientTls(*pki_, false), "localhost");
  EXPECT_TRUE(ok.ok()) << ok.error_message();

  grpc::Status plain = server.Health({});
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();

  // A client trusting another CA does not accept the server.
  grpc::Status other = server.Health(ClientTls(*other_, false));
  EXPECT_EQ(other.error_code(), grpc::StatusCode::UNAVAILABLE) << other.error_message();

  // The name checked is the override when given: the certificate names "recorder", not "trainer".
  ChannelTlsOptions named = ClientTls(*pki_, false);
  named.server_name = "recorder";
  EXPECT_TRUE(server.Health(named).ok());
  named.server_name = "trainer";
  EXPECT_EQ(server.Health(named).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateFromTheCa) {
  RunningServer server(WithTls(true));
  ASSERT_NE(server.port(), 0);
  grpc::Status ok = server.Health(ClientTls(*pki_, true));
  EXPECT_TRUE(ok.ok()) << ok.error_message();

  grpc::Status no_cert = server.Health(ClientTls(*pki_, false));
  EXPECT_EQ(no_cert.error_code(), grpc::StatusCode::UNAVAILABLE) << no_cert.error_message();

  ChannelTlsOptions foreign = ClientTls(*pki_, false);  // trusts the server, cert of another CA
  foreign.cert_file = other_->client_cert;
  foreign.key_file = other_->client_key;
  grpc::Status bad = server.Health(foreign);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::UNAVAILABLE) << bad.error_message();

  EXPECT_EQ(server.Health({}).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, ReceiveLimitIsApplied) {
  ServerRunnerOptions o;
  o.max_receive_message_bytes = 1 << 20;
  RunningServer server(o);
  ASSERT_NE(server.port(), 0);
  auto channel = MakeChannel(server.address(), {});
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  const std::string big(2 << 20, 'x');
  grpc::Slice slice(big);
  grpc::ByteBuffer req(&slice, 1), resp;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  EXPECT_EQ(done.get_future().get().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

}  // namespace
}  // namespace monoroute
