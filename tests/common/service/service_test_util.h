// Helpers of the TLS/auth tests of every service (temp dirs, commands and child processes come
// from tests/testing): a test PKI made with openssl (deploy/tls/make-certs.sh in a temp dir: CA,
// per-service server certificates for localhost/127.0.0.1, a client certificate, tokens),
// service binaries as child processes on free 127.0.0.1 ports, a health-check call over any
// channel, and running the CLI.
#ifndef MONOROUTE_TESTS_COMMON_SERVICE_SERVICE_TEST_UTIL_H_
#define MONOROUTE_TESTS_COMMON_SERVICE_SERVICE_TEST_UTIL_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/service/grpc_status.h"
#include "common/service/health_check.h"
#include "common/service/tls_credentials.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_files.h"

namespace monoroute::testing {

// The files of a test PKI (all PEM paths).
struct TestPki {
  std::string dir;
  std::string ca;           // ca.crt
  std::string client_cert;  // client.crt (clientAuth)
  std::string client_key;
  std::string Cert(const std::string& svc) const { return dir + "/" + svc + ".crt"; }
  std::string Key(const std::string& svc) const { return dir + "/" + svc + ".key"; }
  std::string TokenFile(const std::string& svc) const { return dir + "/" + svc + ".token"; }
  std::string Token(const std::string& svc) const {
    std::string t = ReadText(TokenFile(svc));
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  }
  // Flags of a recorder serving mutual TLS with its token required on reads too.
  std::vector<std::string> StrictRecorderFlags(const std::string& data_dir) const {
    return {"--data-dir",        data_dir,
            "--tls-cert",        Cert("recorder"),
            "--tls-key",         Key("recorder"),
            "--tls-client-ca",   ca,
            "--auth-token-file", TokenFile("recorder"),
            "--auth-reads"};
  }
  // Flags of a service (trainer, analysis) reaching that recorder at `address` with mutual TLS
  // and the recorder's token.
  std::vector<std::string> ToRecorderFlags(const std::string& address) const {
    return {"--recorder",
            address,
            "--recorder-tls-ca",
            ca,
            "--recorder-tls-cert",
            client_cert,
            "--recorder-tls-key",
            client_key,
            "--recorder-token-file",
            TokenFile("recorder")};
  }
};

// Makes a PKI in `dir` (which must not exist yet) with deploy/tls/make-certs.sh (openssl).
// Returns the make-certs output as error text in `error` when it fails.
inline bool MakeTestPki(const std::string& dir, TestPki* pki, std::string* error) {
  CommandResult r = RunCommand(std::string("MONOROUTE_TLS_DAYS=2 /bin/sh ") + MONOROUTE_SOURCE_DIR +
                               "/deploy/tls/make-certs.sh '" + dir + "'");
  if (r.code != 0) {
    *error = "make-certs.sh failed (" + std::to_string(r.code) + "): " + r.out;
    return false;
  }
  pki->dir = dir;
  pki->ca = dir + "/ca.crt";
  pki->client_cert = dir + "/client.crt";
  pki->client_key = dir + "/client.key";
  return true;
}

// Channel TLS options trusting `pki`'s CA, with its client certificate when `with_client_cert`.
inline ChannelTlsOptions ClientTls(const TestPki& pki, bool with_client_cert) {
  ChannelTlsOptions o;
  o.ca_file = pki.ca;
  if (with_client_cert) {
    o.cert_file = pki.client_cert;
    o.key_file = pki.client_key;
  }
  return o;
}

// A channel to `address` (plaintext when `tls` is not enabled); aborts the test on bad files.
inline std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                                  const ChannelTlsOptions& tls) {
  auto c = CreateServiceChannel(address, tls);
  if (!c.ok()) {
    std::fprintf(stderr, "MakeChannel: %s\n", std::string(c.status().message()).c_str());
    std::abort();
  }
  return *c;
}

// grpc.health.v1.Health/Check for the overall server (empty service name) over `channel`, with a
// 10 s deadline. OK when the server answered SERVING; the call's error otherwise.
inline grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel) {
  absl::StatusOr<ServingStatus> s = CheckHealth(channel, "", std::chrono::seconds(10));
  if (!s.ok()) return ToGrpcStatus(s.status());
  if (*s != ServingStatus::kServing) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "health check: not SERVING");
  }
  return grpc::Status::OK;
}

// A service binary as a child process (ServiceProcess) listening on a free 127.0.0.1 port (it is
// started with --listen 127.0.0.1:0 and the port is read from its "listening on" line); SIGKILL
// on destruction.
class ChildService {
 public:
  ChildService() = default;
  ChildService(const ChildService&) = delete;
  ChildService& operator=(const ChildService&) = delete;
  ~ChildService() { process_.Kill(); }

  // Starts `binary` with `args` (plus --listen 127.0.0.1:0 --metrics-listen "") and waits up to
  // 60 s for its listening line. False when it exits first or never listens (see Log()).
  bool Start(const std::string& binary, std::vector<std::string> args, const std::string& log) {
    log_ = log;
    std::error_code ec;
    std::filesystem::remove(log, ec);  // a fresh log: Log() is this start's output only
    args.insert(args.begin(), {binary, "--listen", "127.0.0.1:0", "--metrics-listen", ""});
    if (!process_.Start(binary, args, log).ok()) return false;
    absl::StatusOr<int> port = process_.WaitForLogPort("listening on (?:[0-9.]+:|port )([0-9]+)",
                                                       std::chrono::seconds(60));
    if (!port.ok()) return false;
    port_ = *port;
    return true;
  }

  // True (and the exit code in exit_code()) once the child has exited.
  bool Exited() { return !process_.Running(); }

  // Waits up to `timeout` for the child to exit by itself; its exit code, or -1.
  int WaitExit(std::chrono::seconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (Exited()) return exit_code();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  int exit_code() const { return process_.exit_code(); }
  std::string Log() const { return ReadText(log_); }

 private:
  ServiceProcess process_;
  int port_ = 0;
  std::string log_;
};

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_COMMON_SERVICE_SERVICE_TEST_UTIL_H_
