// Tests of the engine-backed job backend with a tiny GPT-Neo on a tiny text file: spec
// normalisation (defaults, device, path fields), file checks, a real run with progress and
// balance stats, stop + resume from the checkpoint, and (with an in-process recorder) event upload
// with FinishRun only after the attempt that completes.
#include "services/trainer/engine_backend.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "tests/services/recorder/recorder_grpc_test_util.h"

namespace monoroute::trainer {
namespace {

namespace fs = std::filesystem;

class RecordingContext : public JobContext {
 public:
  void OnStart(int64_t start_step, int64_t total_steps) override {
    std::lock_guard<std::mutex> l(mu);
    starts.push_back(start_step);
  }
  void OnProgress(const JobProgress& p) override {
    std::lock_guard<std::mutex> l(mu);
    progress.push_back(p);
  }
  void OnEval(const JobEval& e) override {
    std::lock_guard<std::mutex> l(mu);
    evals.push_back(e);
  }
  void OnCheckpoint(int64_t step, const std::string& dir, double seconds) override {
    std::lock_guard<std::mutex> l(mu);
    checkpoints.push_back(step);
  }
  void OnEventStats(const JobEventStats& s) override {}
  bool ShouldStop() override {
    std::lock_guard<std::mutex> l(mu);
    return stop_after > 0 && !progress.empty() && progress.back().step >= stop_after;
  }
  std::mutex mu;
  std::vector<int64_t> starts, checkpoints;
  std::vector<JobProgress> progress;
  std::vector<JobEval> evals;
  int64_t stop_after = 0;
};

class EngineBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "trainer_engine_XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    std::ofstream out(dir_ + "/train.txt");
    const char* stories[] = {"Tom had a red ball. He liked to play with it in the park.",
                             "Lily saw a big dog. The dog was happy and ran to her.",
                             "The sun was warm. Ben and Sue went to the sea to swim."};
    for (int i = 0; i < 60; ++i) out << stories[i % 3] << "\n<|endoftext|>\n";
    auto b = EngineBackend::Create({});
    ASSERT_TRUE(b.ok());
    backend_ = std::move(*b);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Spec() const {
    return "kind: pretrain\n"
           "model: {hidden_size: 16, num_layers: 2, num_heads: 2, max_position_embeddings: 64}\n"
           "routing: {enabled: true, num_pathways: 4, top_k: 2, router_hidden: 8}\n"
           "data: {train_path: " +
           dir_ +
           "/train.txt, seq_len: 16, valid_fraction: 0.2}\n"
           "optim: {max_steps: 6, warmup_steps: 1, batch_size: 2}\n"
           "eval_every: 0\neval_batches: 2\ncheckpoint_every: 2\nlog_every: 1\nthreads: 1\n";
  }

  std::string dir_;
  std::unique_ptr<EngineBackend> backend_;
};

TEST_F(EngineBackendTest, PrepareFillsDefaultsAndListsPathFields) {
  auto p = backend_->Prepare(Spec(), {}, dir_ + "/out", "cuda:3");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind, "pretrain");
  EXPECT_EQ(p->output_dir, dir_ + "/out");
  EXPECT_EQ(p->device, "cuda:3");  // the spec names no device
  ASSERT_EQ(p->paths.size(), 1u);
  EXPECT_EQ(p->paths[0].field, "data.train_path");
  EXPECT_FALSE(p->records_events);  // no recorder configured

  auto q =
      backend_->Prepare(Spec() + "device: cpu\n", {"output_dir=" + dir_ + "/o2"}, "x", "cuda:3");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->device, "cpu");
  EXPECT_EQ(q->output_dir, dir_ + "/o2");
  EXPECT_EQ(q->paths.front().field, "output_dir");
}

TEST_F(EngineBackendTest, InvalidSpecNamesTheKey) {
  auto p = backend_->Prepare(Spec(), {"optim.lr=-1"}, dir_ + "/out", "cpu");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("optim.lr"), std::string::npos) << p.status();
  auto u = backend_->Prepare(Spec() + "bogus_key: 1\n", {}, dir_ + "/out", "cpu");
  EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineBackendTest, CheckFilesNamesMissingData) {
  auto p =
      backend_->Prepare(Spec(), {"data.train_path=" + dir_ + "/missing.txt"}, dir_ + "/out", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  absl::Status s = backend_->CheckFiles(*p);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("data.train_path"), std::string::npos) << s;
}

TEST_F(EngineBackendTest, RunsStopsAndResumesFromCheckpoint) {
  auto p = backend_->Prepare(Spec(), {}, dir_ + "/out", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(backend_->CheckFiles(*p).ok());
  JobRecord job;
  job.id = "job-000001";
  job.spec_yaml = p->spec_yaml;
  job.output_dir = p->output_dir;

  RecordingContext first;
  first.stop_after = 3;
  auto r1 = backend_->Run(job, &first);
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_TRUE(r1->stopped_early);
  ASSERT_FALSE(first.progress.empty());
  EXPECT_FALSE(first.progress.back().balance.empty());  // routed: per-layer load reported
  EXPECT_FALSE(first.checkpoints.empty());

  RecordingContext second;
  auto r2 = backend_->Run(job, &second);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_FALSE(r2->stopped_early);
  EXPECT_EQ(r2->final_step, 6);
  ASSERT_FALSE(second.starts.empty());
  EXPECT_GE(second.starts[0], 3);  // resumed, not restarted
  EXPECT_GT(r2->final_val_loss, 0);
  EXPECT_FALSE(second.evals.empty());
  EXPECT_TRUE(fs::exists(r2->checkpoint_dir)) << r2->checkpoint_dir;
}

TEST_F(EngineBackendTest, RecordsEventsAndFinishesTheRunOnlyWhenTheJobCompletes) {
  recorder::testing::TempDir rdir;
  recorder::testing::InProcessRecorder rec(rdir.Sub("db"));
  ASSERT_TRUE(rec.Start());
  EngineBackendOptions o;
  o.recorder_address = rec.address();
  auto backend = EngineBackend::Create(o);
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto p = (*backend)->Prepare(Spec(), {"record.sample_rate=1"}, dir_ + "/out", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(p->records_events);
  JobRecord job;
  job.id = "job-000002";
  job.spec_yaml = p->spec_yaml;
  job.output_dir = p->output_dir;
  job.recorder_run_id = job.id;

  RecordingContext first;
  first.stop_after = 3;
  auto r1 = (*backend)->Run(job, &first);
  ASSERT_TRUE(r1.ok()) << r1.status();
  ASSERT_TRUE(r1->stopped_early);
  auto s1 = rec.store()->GetRun(job.id);
  ASSERT_TRUE(s1.ok()) << s1.status();
  EXPECT_GT(s1->events, 0u);
  EXPECT_FALSE(s1->finished);  // stopped early: the resumed attempt will add events

  RecordingContext second;
  auto r2 = (*backend)->Run(job, &second);
  ASSERT_TRUE(r2.ok()) << r2.status();
  ASSERT_FALSE(r2->stopped_early);
  auto s2 = rec.store()->GetRun(job.id);
  ASSERT_TRUE(s2.ok()) << s2.status();
  EXPECT_GT(s2->events, s1->events);
  EXPECT_TRUE(s2->finished);
  EXPECT_GT(s2->finished_unix_ms, 0);
}

}  // namespace
}  // namespace monoroute::trainer
