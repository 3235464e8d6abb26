// monoroute-analysis and monoroute-recorder binaries with TLS, mutual TLS and bearer tokens (a PKI
// made by openssl in a temp dir): a report over TLS from an analysis that reads a mutual-TLS,
// --auth-reads recorder (and `monoroute report` against it), plaintext refused, a client without
// a certificate refused under mutual TLS, Ablate refusing missing/malformed/lowercase/trailing-
// space/wrong tokens, Ablate's paths confined to --allowed-root (PERMISSION_DENIED with the same
// message for existing and missing files; refused with no root), --auth-reads on the reads, and a
// 100,000-character run id answered with a short INVALID_ARGUMENT.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "monoroute/analysis/v1/analysis.grpc.pb.h"
#include "services/recorder/recorder_client.h"
#include "tests/common/service/service_test_util.h"
#include "tests/testing/grpc_call.h"
#include "tests/testing/shared_suite.h"

namespace monoroute::analysis {
namespace {

namespace fs = std::filesystem;
namespace mt = ::monoroute::testing;

const char kRecorder[] = MONOROUTE_BIN_DIR "/monoroute-recorder";
const char kAnalysis[] = MONOROUTE_BIN_DIR "/monoroute-analysis";
constexpr char kRun[] = "tls-run";

struct AnalysisTlsSuite {
  mt::TempDir dir;
  mt::TestPki pki;
  mt::ChildService recorder;  // mutual TLS, token, --auth-reads
  mt::ChildService analysis;  // TLS, token on Ablate, --allowed-root, mTLS + token to recorder
  mt::ChildService strict;    // mutual TLS, --auth-reads, no --allowed-root
  std::string allowed, outside;

  std::string SetUp() {
    std::string error;
    if (!mt::MakeTestPki(dir.Sub("pki"), &pki, &error)) return error;
    if (!recorder.Start(kRecorder, pki.StrictRecorderFlags(dir.Sub("db")),
                        dir.Sub("recorder.log"))) {
      return "recorder did not start: " + recorder.Log();
    }
    if (std::string e = WriteRun(); !e.empty()) return e;
    allowed = dir.Sub("allowed");
    outside = dir.Sub("outside");
    fs::create_directories(allowed);
    fs::create_directories(outside);
    mt::WriteText(outside + "/present.txt", "Once upon a time there was a cat.\n");
    const std::vector<std::string> to_recorder = pki.ToRecorderFlags(recorder.address());
    std::vector<std::string> a = {"--tls-cert",        pki.Cert("analysis"),
                                  "--tls-key",         pki.Key("analysis"),
                                  "--auth-token-file", pki.TokenFile("analysis"),
                                  "--allowed-root",    allowed,
                                  "--threads",         "2"};
    a.insert(a.end(), to_recorder.begin(), to_recorder.end());
    if (!analysis.Start(kAnalysis, a, dir.Sub("analysis.log"))) {
      return "analysis did not start: " + analysis.Log();
    }
    std::vector<std::string> b = {"--tls-cert",
                                  pki.Cert("analysis"),
                                  "--tls-key",
                                  pki.Key("analysis"),
                                  "--tls-client-ca",
                                  pki.ca,
                                  "--auth-token-file",
                                  pki.TokenFile("analysis"),
                                  "--auth-reads",
                                  "--threads",
                                  "2"};
    b.insert(b.end(), to_recorder.begin(), to_recorder.end());
    if (!strict.Start(kAnalysis, b, dir.Sub("strict.log"))) {
      return "strict analysis did not start: " + strict.Log();
    }
    return "";
  }

  // One routed layer (0), 8 pathways, top-2: 4 batches of 1,500 events in split "train".
  std::string WriteRun() {
    recorder::RecorderWriterOptions wo;
    wo.address = recorder.address();
    wo.writer_id = "analysis-tls-test";
    wo.bearer_token = pki.Token("recorder");
    wo.tls = mt::ClientTls(pki, true);
    auto writer = recorder::RecorderWriter::Create(wo);
    if (!writer.ok()) return writer.status().ToString();
    recorder::RunSpecLite spec;
    spec.set_run_id(kRun);
    spec.add_routed_layers(0);
    spec.set_num_pathways(8);
    spec.set_top_k(2);
    spec.set_vocab_size(50257);
    spec.set_store_raw_events(true);
    if (absl::Status s = (*writer)->CreateRun(spec); !s.ok()) return s.ToString();
    std::mt19937 rng(5);
    for (uint64_t batch = 0; batch < 4; ++batch) {
      events::RoutingEventBatch b;
      b.header.run_id = kRun;
      b.header.batch_id = batch;
      b.header.step = batch * 10;
      b.header.layer = 0;
      b.header.top_k = 2;
      for (int e = 0; e < 1500; ++e) {
        b.sequence_id.push_back(batch * 100 + static_cast<uint64_t>(e / 50));
        b.position.push_back(static_cast<uint32_t>(e % 50));
        const uint32_t tok = 100 + rng() % 400;
        b.token_id.push_back(tok);
        b.next_token_id.push_back(tok);
        const uint32_t p = rng() % 8;
        b.pathways.push_back(p);
        b.pathways.push_back((p + 1 + rng() % 7) % 8);
        b.weights.push_back(0.6f);
        b.weights.push_back(0.4f);
      }
      (*writer)->Append(b.view());
    }
    if (absl::Status s = (*writer)->Flush(std::chrono::seconds(60)); !s.ok()) return s.ToString();
    return "";
  }
};

class AnalysisTlsAuthTest : public mt::SharedSuiteTest<AnalysisTlsSuite> {
 protected:
  static std::unique_ptr<v1::Analysis::Stub> Stub(const mt::ChildService& svc,
                                                  const ChannelTlsOptions& tls) {
    return v1::Analysis::NewStub(mt::MakeChannel(svc.address(), tls));
  }
  static ChannelTlsOptions Tls(bool with_cert) { return mt::ClientTls(s_->pki, with_cert); }
  static std::string Right() { return "Bearer " + s_->pki.Token("analysis"); }

  static v1::ReportRequest SmallReport(const std::string& run) {
    v1::ReportRequest req;
    req.set_run_id(run);
    req.mutable_options()->set_skip_png(true);
    req.mutable_options()->set_bootstrap(0);
    req.mutable_options()->set_category_permutations(0);
    req.mutable_options()->set_null_replicates(2);
    return req;
  }

  static grpc::Status Report(v1::Analysis::Stub* stub, const v1::ReportRequest& req,
                             const std::string& header, v1::ReportResponse* resp = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    if (!header.empty()) ctx.AddMetadata("authorization", header);
    v1::ReportResponse r;
    grpc::Status s = stub->ComputeReport(&ctx, req, &r);
    if (resp != nullptr) *resp = r;
    return s;
  }

  static grpc::Status Ablate(v1::Analysis::Stub* stub, const std::string& checkpoint,
                             const std::string& text, const std::string& header) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    if (!header.empty()) ctx.AddMetadata("authorization", header);
    v1::AblateRequest req;
    req.set_checkpoint(checkpoint);
    req.set_text_file(text);
    v1::AblateResponse resp;
    return stub->Ablate(&ctx, req, &resp);
  }
};

TEST_F(AnalysisTlsAuthTest, ReportOverTlsFromAMutualTlsRecorderAndPlaintextRefused) {
  EXPECT_NE(s_->analysis.Log().find("over TLS, TLS, auth on writes"), std::string::npos)
      << s_->analysis.Log();
  v1::ReportResponse resp;
  grpc::Status s = Report(Stub(s_->analysis, Tls(false)).get(), SmallReport(kRun), "", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto json = nlohmann::json::parse(resp.json());
  EXPECT_EQ(json["run"]["run_id"], kRun) << resp.json().substr(0, 300);

  grpc::Status plain = Report(Stub(s_->analysis, {}).get(), SmallReport(kRun), "");
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();
}

TEST_F(AnalysisTlsAuthTest, MutualTlsAndAuthReadsOnEveryRead) {
  auto with_cert = Stub(s_->strict, Tls(true));
  grpc::Status ok = Report(with_cert.get(), SmallReport(kRun), Right());
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(Report(Stub(s_->strict, Tls(false)).get(), SmallReport(kRun), Right()).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  using Call = std::function<grpc::Status(const std::string&)>;
  const std::vector<std::pair<const char*, Call>> reads = {
      {"ComputeReport",
       [&](const std::string& h) { return Report(with_cert.get(), SmallReport(kRun), h); }},
      {"GetLayer",
       [&](const std::string& h) {
         v1::LayerRequest req;
         req.set_run_id(kRun);
         return mt::CallWithAuth(with_cert.get(), &v1::Analysis::Stub::GetLayer, h, req);
       }},
      {"GetPathway",
       [&](const std::string& h) {
         v1::PathwayRequest req;
         req.set_run_id(kRun);
         return mt::CallWithAuth(with_cert.get(), &v1::Analysis::Stub::GetPathway, h, req);
       }},
      {"CompareRuns",
       [&](const std::string& h) {
         v1::CompareRunsRequest req;
         req.set_run_id(kRun);
         req.set_baseline_run_id(kRun);
         return mt::CallWithAuth(with_cert.get(), &v1::Analysis::Stub::CompareRuns, h, req);
       }},
  };
  for (const auto& [name, call] : reads) {
    EXPECT_EQ(call("").error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
    EXPECT_EQ(call("bearer " + s_->pki.Token("analysis")).error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << name;
    EXPECT_NE(call(Right()).error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
  }
}

TEST_F(AnalysisTlsAuthTest, AblateNeedsTheExactBearerToken) {
  auto stub = Stub(s_->analysis, Tls(false));
  const std::string token = s_->pki.Token("analysis");
  const std::string text = s_->outside + "/present.txt";
  for (const std::string& h : {std::string(), token, "bearer " + token, "Bearer " + token + " ",
                               std::string("Bearer wrong")}) {
    grpc::Status s = Ablate(stub.get(), text, text, h);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << "'" << h << "'";
    EXPECT_EQ(s.error_message().find(token), std::string::npos);
  }
  // The right token passes the check (and meets the path policy).
  EXPECT_EQ(Ablate(stub.get(), text, text, Right()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AnalysisTlsAuthTest, AblatePathsOutsideTheRootsAreDeniedAlike) {
  auto stub = Stub(s_->analysis, Tls(false));
  const std::string present = s_->outside + "/present.txt";
  const std::string absent = s_->outside + "/absent.txt";
  const std::string inside = s_->allowed + "/model";
  auto message_without = [](const grpc::Status& s, const std::string& path) {
    std::string m = s.error_message();
    const size_t at = m.find(path);
    if (at != std::string::npos) m.replace(at, path.size(), "<path>");
    return m;
  };
  // text_file outside: existing and missing give the same code and message.
  grpc::Status a = Ablate(stub.get(), inside, present, Right());
  grpc::Status b = Ablate(stub.get(), inside, absent, Right());
  EXPECT_EQ(a.error_code(), grpc::StatusCode::PERMISSION_DENIED) << a.error_message();
  EXPECT_EQ(b.error_code(), grpc::StatusCode::PERMISSION_DENIED) << b.error_message();
  EXPECT_EQ(message_without(a, present), message_without(b, absent));
  // checkpoint outside: the same.
  grpc::Status c = Ablate(stub.get(), present, inside, Right());
  grpc::Status d = Ablate(stub.get(), absent, inside, Right());
  EXPECT_EQ(c.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(d.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(message_without(c, present), message_without(d, absent));
  // System files, "..", and a symlink out of the root.
  fs::create_directory_symlink(s_->outside, s_->allowed + "/link");
  for (const std::string& p :
       {std::string("/etc/shadow"), std::string("/etc/passwd"),
        s_->allowed + "/../outside/present.txt", s_->allowed + "/link/present.txt"}) {
    EXPECT_EQ(Ablate(stub.get(), inside, p, Right()).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << p;
  }
  fs::remove(s_->allowed + "/link");
  // Relative paths are invalid (the server has its own working directory).
  EXPECT_EQ(Ablate(stub.get(), "model", "text.txt", Right()).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // Inside the roots the engine answers (here: no such checkpoint), not the policy.
  const grpc::Status in = Ablate(stub.get(), inside, s_->allowed + "/text.txt", Right());
  EXPECT_NE(in.error_code(), grpc::StatusCode::PERMISSION_DENIED) << in.error_message();
  EXPECT_NE(in.error_code(), grpc::StatusCode::UNAUTHENTICATED) << in.error_message();
  EXPECT_NE(in.error_code(), grpc::StatusCode::OK);
}

TEST_F(AnalysisTlsAuthTest, AblateWithoutAllowedRootIsRefused) {
  const std::string present = s_->outside + "/present.txt";
  grpc::Status s = Ablate(Stub(s_->strict, Tls(true)).get(), present, present, Right());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_NE(s.error_message().find("--allowed-root"), std::string::npos) << s.error_message();
}

TEST_F(AnalysisTlsAuthTest, HugeRunIdIsAShortInvalidArgument) {
  auto stub = Stub(s_->analysis, Tls(false));
  const std::string huge(100000, 'r');
  grpc::Status s = Report(stub.get(), SmallReport(huge), "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message().size();
  EXPECT_LT(s.error_message().size(), 300u);
  EXPECT_NE(s.error_message().find("(100000 bytes)"), std::string::npos) << s.error_message();
  v1::ReportRequest with_baseline = SmallReport(kRun);
  with_baseline.set_baseline_run_id(huge);
  s = Report(stub.get(), with_baseline, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(s.error_message().size(), 300u);
}

TEST_F(AnalysisTlsAuthTest, AnalysisWithoutRecorderTlsCannotReadIt) {
  mt::ChildService plain;
  ASSERT_TRUE(plain.Start(kAnalysis, {"--recorder", s_->recorder.address(), "--threads", "1"},
                          s_->dir.Sub("plain.log")))
      << plain.Log();
  grpc::Status s = Report(Stub(plain, {}).get(), SmallReport(kRun), "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_NE(s.error_message().find("recorder at"), std::string::npos) << s.error_message();
}

TEST_F(AnalysisTlsAuthTest, ReportCliOverTls) {
  const std::string out = s_->dir.Sub("report-out");
  const std::string base = std::string(ANALYSIS_CLI_DRIVER) + " report " + kRun + " --out " + out +
                           " --analysis " + s_->analysis.address() +
                           " --no-png --bootstrap 0 --category-permutations 0 --null-replicates 2";
  mt::CommandResult r = mt::RunCommand(base + " --tls-ca " + s_->pki.ca);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(out + "/llm_routing_results.json"));
  fs::remove(out + "/llm_routing_results.json");
  r = mt::RunCommand("MONOROUTE_TLS_CA=" + s_->pki.ca + " " + base);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(out + "/llm_routing_results.json"));

  r = mt::RunCommand(base);  // plaintext against the TLS port
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("pass --tls-ca"), std::string::npos) << r.out;

  // Mutual TLS and --auth-reads: certificate and token from the environment.
  const std::string strict = std::string(ANALYSIS_CLI_DRIVER) + " report " + kRun + " --out " +
                             out + " --analysis " + s_->strict.address() +
                             " --no-png --bootstrap 0 --category-permutations 0 "
                             "--null-replicates 2";
  const std::string env = "MONOROUTE_TLS_CA=" + s_->pki.ca +
                          " MONOROUTE_TLS_CERT=" + s_->pki.client_cert +
                          " MONOROUTE_TLS_KEY=" + s_->pki.client_key;
  r = mt::RunCommand(env + " MONOROUTE_ANALYSIS_TOKEN_FILE=" + s_->pki.TokenFile("analysis") + " " +
                     strict);
  EXPECT_EQ(r.code, 0) << r.out;
  r = mt::RunCommand(env + " " + strict);  // no token
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("missing 'authorization: Bearer <token>'"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace monoroute::analysis
