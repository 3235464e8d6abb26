// End-to-end test of the services as separate processes on 127.0.0.1: a small routed job is
// submitted to monoroute-trainer over gRPC and watched; the trainer is SIGKILLed mid-job and
// restarted, the job resumes from its checkpoint and SUCCEEDS; the recorder holds every sampled
// step's events exactly once; the analysis report (JSON + PNG) is fetched and sane; a real
// Prometheus server scrapes the three services and its HTTP API returns the trainer's step counter.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "monoroute/analysis/v1/analysis.grpc.pb.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"
#include "monoroute/trainer/v1/trainer.grpc.pb.h"
#include "tests/testing/grpc_call.h"
#include "tests/testing/http.h"
#include "tests/testing/process.h"
#include "tests/testing/stories.h"
#include "tests/testing/work_dir_test.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;
using ::monoroute::testing::HttpGet;
using ::monoroute::testing::ServiceProcess;
namespace tv1 = trainer::v1;

constexpr int kSteps = 30, kBatch = 4, kSeqLen = 32, kLayers = 2;  // routed layers 0 and 2 of 4

std::string Addr(int port) { return "127.0.0.1:" + std::to_string(port); }

class E2ETest : public ::monoroute::testing::WorkDirTest {
 protected:
  E2ETest() : WorkDirTest("monoroute_e2e", /*ports=*/7) {}
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(WorkDirTest::SetUp());
    // Text with a small vocabulary, so a few steps learn something.
    ::monoroute::testing::WriteText(work_ + "/train.txt", ::monoroute::testing::Stories(400, 4));
  }
  void StartTrainer(ServiceProcess* p) {
    ASSERT_TRUE(p->Start("trainer",
                         {bin_ + "/monoroute-trainer", "--listen", Addr(ports_[2]), "--data-dir",
                          work_ + "/trainer", "--recorder", Addr(ports_[0]), "--metrics-listen",
                          Addr(ports_[5]), "--allowed-root", work_},
                         work_ + "/logs/trainer.log")
                    .ok());
    ASSERT_TRUE(p->WaitReady(Addr(ports_[2]), std::chrono::seconds(30)).ok());
  }

  std::string JobYaml() const {
    return "kind: pretrain\n"
           "model: {hidden_size: 32, num_layers: 4, num_heads: 4, max_position_embeddings: 64}\n"
           "routing: {enabled: true, num_pathways: 8, top_k: 2, router_hidden: 16,\n"
           "          route_every_n_layers: 2, balancing: {method: glbl}}\n"
           "data: {train_path: \"" +
           work_ + "/train.txt\", seq_len: " + std::to_string(kSeqLen) +
           ", valid_fraction: 0.1}\n"
           "optim: {max_steps: " +
           std::to_string(kSteps) + ", warmup_steps: 2, batch_size: " + std::to_string(kBatch) +
           "}\n"
           "eval_every: 0\neval_batches: 2\ncheckpoint_every: 5\nlog_every: 1\nthreads: 1\n"
           "record: {sample_rate: 1.0, eval_split_events: true}\n";
  }

  const std::string bin_ = MONOROUTE_BIN_DIR;
};

TEST_F(E2ETest, SubmitKillResumeReportAndPrometheus) {
  for (const char* b : {"monoroute-recorder", "monoroute-analysis", "monoroute-trainer"}) {
    ASSERT_TRUE(fs::exists(bin_ + "/" + b)) << bin_ << "/" << b << " not built";
  }
  if (!fs::exists("/usr/bin/prometheus")) GTEST_SKIP() << "needs /usr/bin/prometheus: absent";

  ServiceProcess recorder, analysis, trainer, prometheus;
  ASSERT_TRUE(recorder
                  .Start("recorder",
                         {bin_ + "/monoroute-recorder", "--listen", Addr(ports_[0]), "--data-dir",
                          work_ + "/recorder", "--metrics-listen", Addr(ports_[3])},
                         work_ + "/logs/recorder.log")
                  .ok());
  ASSERT_TRUE(analysis
                  .Start("analysis",
                         {bin_ + "/monoroute-analysis", "--listen", Addr(ports_[1]), "--recorder",
                          Addr(ports_[0]), "--metrics-listen", Addr(ports_[4])},
                         work_ + "/logs/analysis.log")
                  .ok());
  ASSERT_NO_FATAL_FAILURE(StartTrainer(&trainer));
  ASSERT_TRUE(recorder.WaitReady(Addr(ports_[0]), std::chrono::seconds(30)).ok());
  auto ar = analysis.WaitReady(Addr(ports_[1]), std::chrono::seconds(30));
  ASSERT_TRUE(ar.ok()) << ar;

  // Prometheus scraping all three metrics endpoints every second.
  std::ofstream(work_ + "/prometheus.yml")
      << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
         "scrape_configs:\n"
         "  - job_name: monoroute\n"
         "    static_configs:\n"
         "      - targets: ['"
      << Addr(ports_[3]) << "', '" << Addr(ports_[4]) << "', '" << Addr(ports_[5]) << "']\n";
  ASSERT_TRUE(prometheus
                  .Start("prometheus",
                         {"/usr/bin/prometheus", "--config.file=" + work_ + "/prometheus.yml",
                          "--storage.tsdb.path=" + work_ + "/tsdb",
                          "--web.listen-address=" + Addr(ports_[6])},
                         work_ + "/logs/prometheus.log")
                  .ok());

  auto stub = tv1::Trainer::NewStub(
      grpc::CreateChannel(Addr(ports_[2]), grpc::InsecureChannelCredentials()));

  // Bad input over the wire with the real engine backend: nothing queued.
  {
    tv1::SubmitJobRequest bad;
    bad.set_spec_yaml(JobYaml());
    bad.add_overrides("data.train_path=/etc/hostname");
    EXPECT_THAT(testing::Call(stub.get(), &tv1::Trainer::Stub::SubmitJob, bad),
                testing::GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED, ::testing::_));
    bad.set_overrides(0, "optim.lr=-1");
    EXPECT_THAT(testing::Call(stub.get(), &tv1::Trainer::Stub::SubmitJob, bad),
                testing::GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                      ::testing::HasSubstr("optim.lr")));
    // The rejected submissions queued nothing (their ids are not reused: ids may have gaps).
    tv1::ListJobsResponse listed;
    ASSERT_TRUE(
        testing::Call(stub.get(), &tv1::Trainer::Stub::ListJobs, tv1::ListJobsRequest(), &listed)
            .ok());
    EXPECT_EQ(listed.jobs_size(), 0);
  }

  tv1::SubmitJobRequest req;
  req.set_spec_yaml(JobYaml());
  req.set_name("e2e");
  tv1::SubmitJobResponse sub;
  ASSERT_THAT(testing::Call(stub.get(), &tv1::Trainer::Stub::SubmitJob, req, &sub),
              testing::GrpcStatusIs(grpc::StatusCode::OK, ::testing::_));
  const std::string id = sub.job().id();

  // Watch until a checkpoint past step 10 exists, then SIGKILL the trainer.
  {
    grpc::ClientContext c;
    tv1::WatchJobRequest w;
    w.set_id(id);
    auto reader = stub->WatchJob(&c, w);
    tv1::JobUpdate u;
    bool killed = false;
    while (reader->Read(&u)) {
      ASSERT_NE(u.job().state(), tv1::FAILED) << u.job().failure_reason();
      if (u.kind() == tv1::JobUpdate::CHECKPOINT && u.job().progress().step() >= 10) {
        trainer.Kill();  // SIGKILL: no graceful shutdown, no final checkpoint
        killed = true;
        break;
      }
    }
    c.TryCancel();
    ASSERT_TRUE(killed) << "no checkpoint seen before the job ended; log: "
                        << ::monoroute::testing::Tail(work_ + "/logs/trainer.log");
  }

  // Restart: the job is still RUNNING and resumes from its checkpoint.
  ServiceProcess trainer2;
  ASSERT_NO_FATAL_FAILURE(StartTrainer(&trainer2));
  tv1::Job final_job;
  {
    // The client channel may still hold the dead process's connection: the first call on it
    // fails with UNAVAILABLE ("Broken pipe") and the channel reconnects, as any gRPC client of a
    // restarted service sees. Retry those, like a client would.
    int64_t first_step = -1;
    grpc::Status fin;
    for (int attempt = 0; attempt < 20; ++attempt) {
      grpc::ClientContext c;
      c.set_wait_for_ready(true);
      c.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
      tv1::WatchJobRequest w;
      w.set_id(id);
      auto reader = stub->WatchJob(&c, w);
      tv1::JobUpdate u;
      while (reader->Read(&u)) {
        if (first_step < 0) first_step = u.job().progress().step();
        final_job = u.job();
      }
      fin = reader->Finish();
      if (fin.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    ASSERT_TRUE(fin.ok()) << fin.error_code() << ": " << fin.error_message() << "\n"
                          << ::monoroute::testing::Tail(work_ + "/logs/trainer.log");
    EXPECT_GE(first_step, 10);
  }
  ASSERT_EQ(final_job.state(), tv1::SUCCEEDED)
      << final_job.failure_reason() << "\n"
      << ::monoroute::testing::Tail(work_ + "/logs/trainer.log");
  EXPECT_EQ(final_job.resumes(), 1);
  EXPECT_EQ(final_job.progress().step(), kSteps);
  EXPECT_GT(final_job.final_val_loss(), 0);
  EXPECT_EQ(final_job.events().events_dropped(), 0u);
  // The recorder run is "<trainer instance id>-<job id>" (trainers sharing a recorder never
  // collide).
  const std::string run_id = final_job.recorder_run_id();
  EXPECT_EQ(run_id.substr(run_id.size() - id.size() - 1), "-" + id);

  // Exactly once: every train step's events are in the recorder once per routed layer.
  auto rstub = recorder::v1::Recorder::NewStub(
      grpc::CreateChannel(Addr(ports_[0]), grpc::InsecureChannelCredentials()));
  uint64_t valid_tokens = 0;
  for (uint32_t layer : {0u, 2u}) {
    recorder::v1::TotalsRequest t;
    t.set_run_id(run_id);
    t.set_layer(layer);
    t.set_split("train");
    recorder::v1::TotalsResponse tr;
    ASSERT_TRUE(testing::Call(rstub.get(), &recorder::v1::Recorder::Stub::GetTotals, t, &tr).ok());
    EXPECT_EQ(tr.tokens(), static_cast<uint64_t>(kSteps) * kBatch * kSeqLen) << "layer " << layer;
    t.set_split("valid");
    ASSERT_TRUE(testing::Call(rstub.get(), &recorder::v1::Recorder::Stub::GetTotals, t, &tr).ok());
    EXPECT_GT(tr.tokens(), 0u);
    if (valid_tokens == 0) valid_tokens = tr.tokens();
    EXPECT_EQ(tr.tokens(), valid_tokens);
  }
  recorder::v1::GetRunRequest gr;
  gr.set_run_id(run_id);
  recorder::v1::RunSummary summary;
  ASSERT_TRUE(testing::Call(rstub.get(), &recorder::v1::Recorder::Stub::GetRun, gr, &summary).ok());
  // Train steps, the final validation pass, the fresh-router control and the same routers on the
  // trained trunk, on the same validation sequences (a routed pretrain records no dense slices).
  EXPECT_EQ(summary.events(),
            kLayers * (static_cast<uint64_t>(kSteps) * kBatch * kSeqLen + 3 * valid_tokens));
  EXPECT_NE(std::find(summary.splits().begin(), summary.splits().end(), "valid/fresh_routers"),
            summary.splits().end());
  // The completed job marked its run finished (the trainer calls FinishRun after the last flush).
  EXPECT_TRUE(summary.finished()) << ::monoroute::testing::Tail(work_ + "/logs/trainer.log");

  // The report on the held-out split.
  auto astub = analysis::v1::Analysis::NewStub(
      grpc::CreateChannel(Addr(ports_[1]), grpc::InsecureChannelCredentials()));
  analysis::v1::ReportRequest rr;
  rr.set_run_id(run_id);
  rr.mutable_selection()->set_split("valid");
  analysis::v1::ReportResponse report;
  ASSERT_THAT(testing::Call(astub.get(), &analysis::v1::Analysis::Stub::ComputeReport, rr, &report),
              testing::GrpcStatusIs(grpc::StatusCode::OK, ::testing::_));
  ASSERT_GT(report.png().size(), 8u);
  EXPECT_EQ(report.png().substr(1, 3), "PNG");
  nlohmann::json j = nlohmann::json::parse(report.json(), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  ASSERT_EQ(report.layers_size(), kLayers);
  for (const auto& l : report.layers()) {
    EXPECT_EQ(l.events(), valid_tokens);
    EXPECT_GE(l.mean_purity().observed(), 0.0);
    EXPECT_LE(l.mean_purity().observed(), 1.0);
    EXPECT_GT(l.utilisation(), 0.0);
    // Compared with its fresh routers and with them on the trained trunk automatically (and with
    // the synthetic hash controls).
    int fresh = 0, on_trained = 0;
    for (const auto& c : l.controls()) {
      if (c.control() != "fresh_routers" && c.control() != "trained_trunk_fresh_routers") continue;
      (c.control() == "fresh_routers" ? fresh : on_trained)++;
      EXPECT_EQ(c.events(), valid_tokens);
    }
    EXPECT_EQ(fresh, 1);
    EXPECT_EQ(on_trained, 1);
  }
  EXPECT_TRUE(report.freshness().finished());
  EXPECT_FALSE(report.freshness().still_writing());
  EXPECT_TRUE(j.contains("average_purity")) << report.json().substr(0, 400);

  // Prometheus scraped the (restarted) trainer's step counter.
  double steps_seen = 0;
  for (int i = 0; i < 60 && steps_seen <= 0; ++i) {
    std::string body =
        HttpGet(ports_[6],
                "/api/v1/query?query=monoroute_trainer_steps_total%7Bjob_id%3D%22" + id + "%22%7D");
    nlohmann::json q = nlohmann::json::parse(body, nullptr, false);
    if (!q.is_discarded() && q.value("status", "") == "success" && !q["data"]["result"].empty()) {
      steps_seen = std::stod(q["data"]["result"][0]["value"][1].get<std::string>());
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  EXPECT_GT(steps_seen, 0) << ::monoroute::testing::Tail(work_ + "/logs/prometheus.log");
  // All three targets up.
  std::string up = HttpGet(ports_[6], "/api/v1/query?query=sum(up)");
  nlohmann::json uq = nlohmann::json::parse(up, nullptr, false);
  ASSERT_FALSE(uq.is_discarded()) << up;
  EXPECT_EQ(uq["data"]["result"][0]["value"][1], "3") << up;

  EXPECT_EQ(trainer2.Stop(std::chrono::seconds(20)), "exit 0");
  EXPECT_EQ(analysis.Stop(std::chrono::seconds(10)), "exit 0");
  EXPECT_EQ(recorder.Stop(std::chrono::seconds(20)), "exit 0");
  prometheus.Stop(std::chrono::seconds(10));
}

}  // namespace
}  // namespace monoroute
