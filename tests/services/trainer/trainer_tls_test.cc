// The monoroute-trainer binary with TLS, mutual TLS and a bearer token (a PKI made by openssl in a
// temp dir), driven by the `monoroute` trainer subcommands (jobs, submit, watch, cancel; a driver
// built from the CLI's own command files): a tiny job submitted, watched to SUCCEEDED and listed
// over TLS with the CA from a flag or MONOROUTE_TLS_CA; plaintext refused on the TLS port with a
// hint; tokens refused unless exact; mutual TLS needing the client certificate; --auth-reads
// needing the token on reads; unusable TLS files failing the start.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/common/service/service_test_util.h"
#include "tests/testing/shared_suite.h"
#include "tests/testing/stories.h"

namespace monoroute::trainer {
namespace {

namespace mt = ::monoroute::testing;

const char kTrainer[] = MONOROUTE_BIN_DIR "/monoroute-trainer";
const char kDriver[] = TRAINER_CLI_DRIVER;

struct TrainerTlsSuite {
  mt::TempDir dir;
  mt::TestPki pki;
  mt::ChildService tls;     // TLS, token on SubmitJob/CancelJob
  mt::ChildService mutual;  // mutual TLS, --auth-reads

  std::string SetUp() {
    std::string e;
    if (!mt::MakeTestPki(dir.Sub("pki"), &pki, &e)) return e;
    mt::WriteText(dir.Sub("train.txt"), mt::Stories(200, 1));
    const std::vector<std::string> cert = {
        "--tls-cert",        pki.Cert("trainer"),      "--tls-key",      pki.Key("trainer"),
        "--auth-token-file", pki.TokenFile("trainer"), "--allowed-root", dir.path()};
    std::vector<std::string> a = cert;
    a.insert(a.end(), {"--data-dir", dir.Sub("trainer-a")});
    if (!tls.Start(kTrainer, a, dir.Sub("a.log"))) return "trainer a: " + tls.Log();
    std::vector<std::string> b = cert;
    b.insert(b.end(),
             {"--data-dir", dir.Sub("trainer-b"), "--tls-client-ca", pki.ca, "--auth-reads"});
    if (!mutual.Start(kTrainer, b, dir.Sub("b.log"))) return "trainer b: " + mutual.Log();
    return "";
  }
};

class TrainerTlsTest : public mt::SharedSuiteTest<TrainerTlsSuite> {
 protected:
  static mt::CommandResult Cli(const std::string& env, const std::string& args) {
    return mt::RunCommand(env + (env.empty() ? "" : " ") + kDriver + " " + args);
  }
  static std::string Ca() { return " --tls-ca " + s_->pki.ca; }
};

TEST_F(TrainerTlsTest, SubmitWatchAndListOverTls) {
  EXPECT_NE(s_->tls.Log().find(", TLS, auth on writes"), std::string::npos) << s_->tls.Log();
  const std::string spec = s_->dir.Sub("job.yaml");
  mt::WriteText(spec,
                "kind: pretrain\n"
                "model: {hidden_size: 16, num_layers: 2, num_heads: 2, intermediate_size: 64,\n"
                "        max_position_embeddings: 64, window_size: 8}\n"
                "data: {train_path: \"" +
                    s_->dir.Sub("train.txt") +
                    "\", seq_len: 32, valid_fraction: 0.1}\n"
                    "optim: {max_steps: 2, warmup_steps: 1, batch_size: 2}\n"
                    "eval_every: 0\neval_batches: 1\ncheckpoint_every: 0\nthreads: 1\n"
                    "output_dir: \"" +
                    s_->dir.Sub("job-out") + "\"\n");
  const std::string addr = " --trainer " + s_->tls.address();
  mt::CommandResult r = Cli("", "submit " + spec + addr + Ca() + " --output json --token-file " +
                                    s_->pki.TokenFile("trainer"));
  ASSERT_EQ(r.code, 0) << r.out;
  const size_t at = r.out.find("\"id\":\"");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string id = r.out.substr(at + 6, r.out.find('"', at + 6) - at - 6);

  r = Cli("MONOROUTE_TLS_CA=" + s_->pki.ca, "watch " + id + addr + " --every 60");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(id + " finished"), std::string::npos) << r.out;

  r = Cli("", "jobs" + addr + Ca());
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(id), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SUCCEEDED"), std::string::npos) << r.out;

  // The token is checked exactly (cancel of the finished job: refused before any lookup).
  r = Cli("MONOROUTE_TRAINER_TOKEN=wrong", "cancel " + id + addr + Ca());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("invalid bearer token"), std::string::npos) << r.out;
  r = Cli("", "cancel " + id + addr + Ca());
  EXPECT_NE(r.out.find("missing 'authorization: Bearer <token>'"), std::string::npos) << r.out;
  r = Cli("MONOROUTE_TRAINER_TOKEN_FILE=" + s_->pki.TokenFile("trainer"),
          "cancel " + id + addr + Ca());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("already finished"), std::string::npos) << r.out;
}

TEST_F(TrainerTlsTest, PlaintextAndWrongCaAreRefusedWithAHint) {
  const std::string addr = " --trainer " + s_->tls.address();
  mt::CommandResult r = Cli("", "jobs" + addr);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("is not reachable"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pass --tls-ca"), std::string::npos) << r.out;
  // A certificate that did not sign the trainer's.
  r = Cli("", "jobs" + addr + " --tls-ca " + s_->pki.client_cert);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("TLS: check"), std::string::npos) << r.out;
  // A CA file that is not PEM: named in the error.
  r = Cli("", "jobs" + addr + " --tls-ca " + s_->pki.TokenFile("trainer"));
  EXPECT_NE(r.out.find("--tls-ca " + s_->pki.TokenFile("trainer")), std::string::npos) << r.out;
}

TEST_F(TrainerTlsTest, MutualTlsNeedsTheCertificateAndAuthReadsTheToken) {
  EXPECT_NE(s_->mutual.Log().find(", mutual TLS, auth on every RPC"), std::string::npos)
      << s_->mutual.Log();
  const std::string addr = " --trainer " + s_->mutual.address();
  const std::string token = " --token-file " + s_->pki.TokenFile("trainer");
  mt::CommandResult r = Cli("", "jobs" + addr + Ca() + token);
  EXPECT_EQ(r.code, 1) << r.out;  // no client certificate
  const std::string cert =
      " --tls-cert " + s_->pki.client_cert + " --tls-key " + s_->pki.client_key;
  r = Cli("", "jobs" + addr + Ca() + cert + token);
  EXPECT_EQ(r.code, 0) << r.out;
  r = Cli("MONOROUTE_TLS_CERT=" + s_->pki.client_cert + " MONOROUTE_TLS_KEY=" + s_->pki.client_key,
          "jobs" + addr + Ca() + token);
  EXPECT_EQ(r.code, 0) << r.out;
  r = Cli("", "jobs" + addr + Ca() + cert);  // --auth-reads: no token, no list
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("missing 'authorization: Bearer <token>'"), std::string::npos) << r.out;
}

TEST_F(TrainerTlsTest, UnusableTlsFilesFailTheStart) {
  mt::ChildService bad;
  EXPECT_FALSE(bad.Start(kTrainer,
                         {"--data-dir", s_->dir.Sub("bad"), "--tls-cert", s_->pki.Cert("trainer"),
                          "--tls-key", s_->pki.Key("recorder")},
                         s_->dir.Sub("bad.log")));
  EXPECT_EQ(bad.WaitExit(std::chrono::seconds(30)), 1);
  EXPECT_NE(bad.Log().find("--tls-key " + s_->pki.Key("recorder") + ": does not match"),
            std::string::npos)
      << bad.Log();

  // The recorder channel's files are checked at startup too (the job workers use them later).
  mt::ChildService bad_channel;
  EXPECT_FALSE(bad_channel.Start(kTrainer,
                                 {"--data-dir", s_->dir.Sub("bad2"), "--recorder", "127.0.0.1:1",
                                  "--recorder-tls-ca", s_->dir.Sub("absent-ca.crt")},
                                 s_->dir.Sub("bad2.log")));
  EXPECT_EQ(bad_channel.WaitExit(std::chrono::seconds(30)), 1);
  EXPECT_NE(bad_channel.Log().find("--recorder-tls-ca " + s_->dir.Sub("absent-ca.crt")),
            std::string::npos)
      << bad_channel.Log();
}

}  // namespace
}  // namespace monoroute::trainer
