// Tests of the shared server and channel flags: names and defaults, the token from a file or the
// environment, --auth-reads without a token refused, limits copied into RunServer's options.
#include "common/service/service_flags.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "tests/common/service/service_test_util.h"

namespace monoroute {
namespace {

// Parses `args` (after the program name) into `app`; true on success.
bool Parse(CLI::App* app, std::vector<std::string> args) {
  std::vector<char*> argv = {const_cast<char*>("prog")};
  for (auto& a : args) argv.push_back(a.data());
  try {
    app->parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
    return false;
  }
  return true;
}

TEST(ServiceFlagsTest, ServerFlagsFillRunnerOptionsAndAuth) {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("token"), "tok-123\n");
  CLI::App app;
  ServerFlags f;
  f.max_receive_mb = 16;
  AddServerFlags(&app, "Write", &f);
  ASSERT_TRUE(
      Parse(&app, {"--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-ca", "ca.pem",
                   "--auth-token-file", dir.Sub("token"), "--auth-reads", "--max-send-mb", "8"}));
  ServerRunnerOptions r;
  ApplyServerFlags(f, &r);
  EXPECT_EQ(r.tls.cert_file, "c.pem");
  EXPECT_EQ(r.tls.key_file, "k.pem");
  EXPECT_EQ(r.tls.client_ca_file, "ca.pem");
  EXPECT_EQ(r.max_receive_message_bytes, 16 << 20);
  EXPECT_EQ(r.max_send_message_bytes, 8 << 20);
  EXPECT_EQ(DescribeTls(r.tls), "mutual TLS");
  auto auth = LoadAuthOptions(f);
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->token, "tok-123");
  EXPECT_TRUE(auth->auth_reads);
}

TEST(ServiceFlagsTest, OldMaxMessageNameStillWorks) {
  CLI::App app;
  ServerFlags f;
  AddServerFlags(&app, "Write", &f);
  ASSERT_TRUE(Parse(&app, {"--max-message-mb", "32"}));
  EXPECT_EQ(f.max_receive_mb, 32);
}

TEST(ServiceFlagsTest, TokenFromEnvironmentAndAuthReadsNeedsAToken) {
  ServerFlags f;
  f.token_env = "MONOROUTE_SERVICE_FLAGS_TEST_TOKEN";
  ::unsetenv(f.token_env.c_str());
  auto none = LoadAuthOptions(f);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->token.empty());
  f.auth_reads = true;
  EXPECT_EQ(LoadAuthOptions(f).status().code(), absl::StatusCode::kInvalidArgument);
  ::setenv(f.token_env.c_str(), " env-token \n", 1);
  auto env = LoadAuthOptions(f);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->token, "env-token");
  ::setenv(f.token_env.c_str(), "two words", 1);
  auto bad = LoadAuthOptions(f);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find(f.token_env), absl::string_view::npos);
  ::unsetenv(f.token_env.c_str());
  f.auth_token_file = "/nonexistent/token";
  EXPECT_NE(LoadAuthOptions(f).status().message().find("--auth-token-file /nonexistent/token"),
            absl::string_view::npos);
}

TEST(ServiceFlagsTest, ChannelFlagsArePrefixedWithThePeer) {
  CLI::App app;
  ChannelTlsOptions tls;
  AddChannelTlsFlags(&app, "recorder", &tls);
  ASSERT_TRUE(Parse(&app, {"--recorder-tls-ca", "ca.pem", "--recorder-tls-cert", "c.pem",
                           "--recorder-tls-key", "k.pem", "--recorder-tls-server-name", "rec"}));
  EXPECT_EQ(tls.ca_file, "ca.pem");
  EXPECT_EQ(tls.cert_file, "c.pem");
  EXPECT_EQ(tls.key_file, "k.pem");
  EXPECT_EQ(tls.server_name, "rec");
  EXPECT_EQ(tls.flag_prefix, "--recorder-tls");
  EXPECT_TRUE(tls.enabled());
}

}  // namespace
}  // namespace monoroute
