// End to end over TLS: monoroute-recorder (mutual TLS, token, --auth-reads), monoroute-trainer
// (TLS, token; mutual TLS + token to the recorder) and monoroute-analysis (TLS, token, an allowed
// root; mutual TLS + token to the recorder) as child processes with a PKI made by openssl. A tiny
// routed job submitted over TLS SUCCEEDS with its routing events acked by the recorder; the
// report is computed from them; Ablate on the job's checkpoint (inside the allowed root) with the
// right token is OK.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "monoroute/analysis/v1/analysis.grpc.pb.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"
#include "monoroute/trainer/v1/trainer.grpc.pb.h"
#include "tests/common/service/service_test_util.h"
#include "tests/testing/stories.h"

namespace monoroute {
namespace {

namespace mt = ::monoroute::testing;

const std::string kBin = MONOROUTE_BIN_DIR;

TEST(E2ETlsTest, RoutedJobOverTlsIsRecordedReportedAndAblated) {
  mt::TempDir dir;
  mt::TestPki pki;
  std::string error;
  ASSERT_TRUE(mt::MakeTestPki(dir.Sub("pki"), &pki, &error)) << error;
  const std::string text = mt::Stories(400, 4);
  mt::WriteText(dir.Sub("train.txt"), text);

  mt::ChildService recorder, trainer, analysis;
  ASSERT_TRUE(recorder.Start(kBin + "/monoroute-recorder",
                             pki.StrictRecorderFlags(dir.Sub("recorder")), dir.Sub("recorder.log")))
      << recorder.Log();
  const std::vector<std::string> to_recorder = pki.ToRecorderFlags(recorder.address());
  std::vector<std::string> t = {
      "--data-dir",     dir.Sub("trainer"), "--tls-cert",        pki.Cert("trainer"),
      "--tls-key",      pki.Key("trainer"), "--auth-token-file", pki.TokenFile("trainer"),
      "--allowed-root", dir.path()};
  t.insert(t.end(), to_recorder.begin(), to_recorder.end());
  ASSERT_TRUE(trainer.Start(kBin + "/monoroute-trainer", t, dir.Sub("trainer.log")))
      << trainer.Log();
  std::vector<std::string> a = {"--tls-cert",        pki.Cert("analysis"),
                                "--tls-key",         pki.Key("analysis"),
                                "--auth-token-file", pki.TokenFile("analysis"),
                                "--allowed-root",    dir.path(),
                                "--threads",         "1"};
  a.insert(a.end(), to_recorder.begin(), to_recorder.end());
  ASSERT_TRUE(analysis.Start(kBin + "/monoroute-analysis", a, dir.Sub("analysis.log")))
      << analysis.Log();

  auto tstub =
      trainer::v1::Trainer::NewStub(mt::MakeChannel(trainer.address(), mt::ClientTls(pki, false)));
  trainer::v1::SubmitJobRequest req;
  req.set_spec_yaml(
      "kind: pretrain\n"
      "model: {hidden_size: 16, num_layers: 2, num_heads: 2, intermediate_size: 64,\n"
      "        max_position_embeddings: 128, window_size: 8}\n"
      "routing: {enabled: true, num_pathways: 8, top_k: 2, router_hidden: 16}\n"
      "data: {train_path: \"" +
      dir.Sub("train.txt") +
      "\", seq_len: 32, valid_fraction: 0.1}\n"
      "optim: {max_steps: 4, warmup_steps: 1, batch_size: 4}\n"
      "eval_every: 0\neval_batches: 2\ncheckpoint_every: 0\nlog_every: 1\nthreads: 1\n"
      "record: {sample_rate: 1.0, eval_split_events: true}\n");
  trainer::v1::SubmitJobResponse sresp;
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + pki.Token("trainer"));
    grpc::Status st = tstub->SubmitJob(&ctx, req, &sresp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  const std::string id = sresp.job().id();
  trainer::v1::Job job;
  for (int i = 0; i < 1200; ++i) {  // up to 10 minutes on a busy machine
    grpc::ClientContext ctx;
    trainer::v1::GetJobRequest g;
    g.set_id(id);
    ASSERT_TRUE(tstub->GetJob(&ctx, g, &job).ok());
    if (job.state() != trainer::v1::QUEUED && job.state() != trainer::v1::RUNNING) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_EQ(job.state(), trainer::v1::SUCCEEDED) << job.failure_reason() << "\n" << trainer.Log();
  EXPECT_GT(job.events().events_acked(), 0u);
  EXPECT_EQ(job.events().events_dropped(), 0u);
  const std::string run = job.recorder_run_id().empty() ? id : job.recorder_run_id();

  // The recorder holds the events (read over mutual TLS with its token).
  auto rstub = recorder::v1::Recorder::NewStub(
      mt::MakeChannel(recorder.address(), mt::ClientTls(pki, true)));
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + pki.Token("recorder"));
    recorder::v1::GetRunRequest g;
    g.set_run_id(run);
    recorder::v1::RunSummary sum;
    grpc::Status st = rstub->GetRun(&ctx, g, &sum);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(sum.events(), job.events().events_acked());
  }

  // The report over TLS, and Ablate on the checkpoint with the right token.
  auto astub = analysis::v1::Analysis::NewStub(
      mt::MakeChannel(analysis.address(), mt::ClientTls(pki, false)));
  {
    grpc::ClientContext ctx;
    analysis::v1::ReportRequest r;
    r.set_run_id(run);
    r.mutable_options()->set_skip_png(true);
    r.mutable_options()->set_bootstrap(0);
    r.mutable_options()->set_category_permutations(0);
    r.mutable_options()->set_null_replicates(2);
    analysis::v1::ReportResponse resp;
    grpc::Status st = astub->ComputeReport(&ctx, r, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_GT(resp.freshness().events(), 0u);
  }
  mt::WriteText(dir.Sub("eval.txt"), text.substr(0, 20000));
  bool ablated = false;
  std::string last_error;
  for (uint32_t pathway = 0; pathway < 8 && !ablated; ++pathway) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + pki.Token("analysis"));
    analysis::v1::AblateRequest ar;
    ar.set_checkpoint(job.checkpoint_dir());
    ar.set_text_file(dir.Sub("eval.txt"));
    ar.set_layer(0);
    ar.set_pathway(pathway);
    ar.set_max_tokens(2048);
    ar.set_bootstrap(20);
    analysis::v1::AblateResponse resp;
    grpc::Status st = astub->Ablate(&ctx, ar, &resp);
    ASSERT_NE(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
    ASSERT_NE(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
    if (st.ok()) {
      ablated = true;
      EXPECT_GT(resp.tokens_in_topk() + resp.tokens_other(), 0u);
    } else {
      last_error = st.error_message();
    }
  }
  EXPECT_TRUE(ablated) << last_error;
}

}  // namespace
}  // namespace monoroute
