// Tests of the engine-backed job backend with a tiny GPT-Neo on a tiny text file: spec
// normalisation (defaults, device, path fields), file checks and submission-time checks (memory
// estimate, thread caps, the model's positions and layers), real runs in worker processes (the
// built monoroute-trainer --worker) with progress and balance stats, stop (SIGTERM) + resume from
// the checkpoint, a crashing worker's reason, and (with an in-process recorder) event upload with
// FinishRun only after the attempt that completes, a resume into a run created without the
// checkpoint label, and a run-id conflict failing the job; a
// distributed job (2 rank workers) records every event once across its ranks and a resume.
#include "services/trainer/engine_backend.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "tests/services/recorder/recorder_grpc_test_util.h"
#include "tests/testing/stories.h"
#include "tests/testing/temp_files.h"

namespace monoroute::trainer {
namespace {

namespace fs = std::filesystem;

class RecordingContext : public JobContext {
 public:
  // Appends `x` to `v` under mu (the worker's callbacks come from another thread).
  template <typename T>
  void Add(std::vector<T>& v, const T& x) {
    std::lock_guard<std::mutex> l(mu);
    v.push_back(x);
  }
  void OnStart(int64_t start_step, int64_t total_steps) override { Add(starts, start_step); }
  void OnProgress(const engine::StepReport& p) override { Add(progress, p); }
  void OnEval(const engine::EvalReport& e) override { Add(evals, e); }
  void OnCheckpoint(int64_t step, const std::string& dir, double seconds) override {
    Add(checkpoints, step);
  }
  void OnEventStats(const JobEventStats& s) override {}
  void OnPhase(const engine::PhaseReport& p) override { Add(phases, p); }
  void OnWarning(const std::string& w) override { Add(warnings, w); }
  void OnWorker(int pid) override { Add(pids, pid); }
  bool ShouldStop() override {
    std::lock_guard<std::mutex> l(mu);
    return stop_after > 0 && !progress.empty() && progress.back().step >= stop_after;
  }
  std::mutex mu;
  std::vector<int64_t> starts, checkpoints;
  std::vector<engine::StepReport> progress;
  std::vector<engine::EvalReport> evals;
  std::vector<engine::PhaseReport> phases;
  std::vector<std::string> warnings;
  std::vector<int> pids;
  int64_t stop_after = 0;
};

// The job record of prepared spec `p` under `id` (recording into run `run_id` when not "").
JobRecord Job(const PreparedSpec& p, const std::string& id, const std::string& run_id = "") {
  JobRecord job;
  job.id = id;
  job.spec_yaml = p.spec_yaml;
  job.output_dir = p.output_dir;
  job.recorder_run_id = run_id;
  return job;
}

// Runs attempt `resumes` of `job` on `backend` (0: the first), stopped as by SIGTERM once a step
// >= `stop_after` was reported (0: to the end): its outcome (a failed expectation and a default
// outcome when the run fails), what the worker reported in `ctx`.
RunOutcome Attempt(EngineBackend& backend, JobRecord job, int resumes, int64_t stop_after,
                   RecordingContext* ctx) {
  job.resumes = resumes;
  ctx->stop_after = stop_after;
  absl::StatusOr<RunOutcome> r = backend.Run(job, ctx);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : RunOutcome{};
}

class EngineBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteText(dir_ + "/train.txt", testing::Stories(60));
    auto b = EngineBackend::Create(Options());
    ASSERT_TRUE(b.ok());
    backend_ = std::move(*b);
  }

  EngineBackendOptions Options() const {
    EngineBackendOptions o;
    o.worker_binary = std::string(MONOROUTE_BIN_DIR) + "/monoroute-trainer";
    o.work_dir = dir_ + "/work";
    o.job_memory_limit_mb = 4096;
    o.max_job_threads = 2;
    o.stop_grace_ms = 20000;
    return o;
  }

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

  // Starts an in-process recorder (in its own temp dir) and returns a backend recording into it.
  std::unique_ptr<EngineBackend> RecordingBackend() {
    rec_ = std::make_unique<recorder::testing::InProcessRecorder>(rdir_.Sub("db"));
    if (!rec_->Start()) return nullptr;
    EngineBackendOptions o = Options();
    o.upload.recorder_address = rec_->address();
    auto backend = EngineBackend::Create(o);
    EXPECT_TRUE(backend.ok()) << backend.status();
    return backend.ok() ? std::move(*backend) : nullptr;
  }

  ::monoroute::testing::TempDir tmp_{"trainer_engine"};
  ::monoroute::testing::TempDir rdir_{"trainer_engine_rec"};
  std::unique_ptr<recorder::testing::InProcessRecorder> rec_;
  std::string dir_ = tmp_.path();
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

// Issue 23: a FIFO or a directory as a data path names what it is (was NOT_FOUND "file not
// found"); the FIFO is never opened (that would block).
TEST_F(EngineBackendTest, FifoOrDirectoryAsTrainPathNamesWhatItIs) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  fs::create_directories(dir_ + "/adir");
  for (const auto& [path, what] : {std::pair<std::string, std::string>{fifo, "is a FIFO"},
                                   {dir_ + "/adir", "is a directory"}}) {
    auto p = backend_->Prepare(Spec(), {"data.train_path=" + path}, dir_ + "/out", "cpu");
    ASSERT_TRUE(p.ok()) << p.status();
    absl::Status s = backend_->CheckFiles(*p);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find("data.train_path: " + path + " " + what), std::string::npos) << s;
  }
  auto p = backend_->Prepare(Spec(), {"data.valid_path=" + fifo}, dir_ + "/out", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  absl::Status s = backend_->CheckFiles(*p);
  EXPECT_NE(s.message().find("data.valid_path: " + fifo + " is a FIFO"), std::string::npos) << s;
}

// Issue 23: max_steps has a ceiling (1e18 used to hold a worker until cancelled).
TEST_F(EngineBackendTest, MaxStepsAboveTheCeilingIsRefused) {
  auto p = backend_->Prepare(Spec(), {"optim.max_steps=1000000000000000000"}, dir_ + "/out", "cpu");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("optim.max_steps"), std::string::npos) << p.status();
  EXPECT_NE(p.status().message().find("limit of 1000000000 steps"), std::string::npos)
      << p.status();
  EXPECT_TRUE(backend_->Prepare(Spec(), {"optim.max_steps=1000000000"}, dir_ + "/out", "cpu").ok());
}

TEST_F(EngineBackendTest, RunsStopsAndResumesFromCheckpoint) {
  auto p = backend_->Prepare(Spec(), {}, dir_ + "/out", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(backend_->CheckFiles(*p).ok());
  JobRecord job = Job(*p, "job-000001");

  RecordingContext first;
  const RunOutcome r1 = Attempt(*backend_, job, 0, 3, &first);
  EXPECT_TRUE(r1.stopped_early);  // SIGTERM to the worker: it checkpointed and exited
  ASSERT_EQ(first.pids.size(), 2u);
  EXPECT_GT(first.pids[0], 0);
  EXPECT_EQ(first.pids[1], 0);
  ASSERT_FALSE(first.progress.empty());
  EXPECT_FALSE(first.progress.back().balance.empty());  // routed: per-layer load reported
  EXPECT_FALSE(first.checkpoints.empty());

  RecordingContext second;
  // A later attempt of the same job (the first refuses a used output_dir).
  const RunOutcome r2 = Attempt(*backend_, job, 1, 0, &second);
  EXPECT_FALSE(r2.stopped_early);
  EXPECT_EQ(r2.final_step, 6);
  ASSERT_FALSE(second.starts.empty());
  EXPECT_GE(second.starts[0], 3);  // resumed, not restarted
  EXPECT_GT(r2.final_val_loss, 0);
  EXPECT_FALSE(second.evals.empty());
  EXPECT_TRUE(fs::exists(r2.checkpoint_dir)) << r2.checkpoint_dir;
  // Issue 22: the phases, in order, with the final evaluation's own progress.
  std::vector<std::string> order;
  for (const engine::PhaseReport& ph : second.phases) {
    if (order.empty() || order.back() != ph.phase) order.push_back(ph.phase);
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"pretokenising", "training", "final_eval", "uploading"}));
  const auto last_eval = std::find_if(second.phases.rbegin(), second.phases.rend(),
                                      [](const auto& ph) { return ph.phase == "final_eval"; });
  ASSERT_NE(last_eval, second.phases.rend());
  EXPECT_GT(last_eval->total, 0);
  EXPECT_EQ(last_eval->done, last_eval->total);
  EXPECT_GT(second.evals.back().sequences, 0);
  // worker.log tells what the worker did (it was empty).
  const std::string log = testing::ReadText(dir_ + "/work/job-000001/worker.log");
  // The stop lands at step 3 or later (asynchronous); the log names the step it resumed at.
  const std::string resumed = "resuming at step " + std::to_string(second.starts[0]) + " of 6";
  EXPECT_NE(log.find(resumed), std::string::npos) << log;
  EXPECT_NE(log.find("step 6/6 lm_loss"), std::string::npos) << log;
  EXPECT_NE(log.find("phase final_eval"), std::string::npos) << log;

  // Issue 22: a new job on this used output dir is refused unless it says resume: must; then it
  // reports where it resumed (here: at the end, 0 new steps).
  absl::Status used = backend_->CheckFiles(*p);
  EXPECT_EQ(used.code(), absl::StatusCode::kFailedPrecondition) << used;
  EXPECT_NE(used.message().find("resume: must"), std::string::npos) << used;
  EXPECT_EQ(backend_->Run(job, &second).status().code(), absl::StatusCode::kFailedPrecondition);
  auto must = backend_->Prepare(Spec(), {"resume=must"}, dir_ + "/out", "cpu");
  ASSERT_TRUE(must.ok()) << must.status();
  ASSERT_TRUE(backend_->CheckFiles(*must).ok());
  JobRecord again = job;
  again.id = "job-000002";
  again.spec_yaml = must->spec_yaml;
  RecordingContext third;
  auto r3 = backend_->Run(again, &third);
  ASSERT_TRUE(r3.ok()) << r3.status();
  ASSERT_FALSE(third.starts.empty());
  EXPECT_EQ(third.starts[0], 6);
  EXPECT_EQ(r3->final_step, 6);
  // resume: must on an empty dir, never on a used one.
  auto empty = backend_->Prepare(Spec(), {"resume=must"}, dir_ + "/empty", "cpu");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(backend_->CheckFiles(*empty).code(), absl::StatusCode::kFailedPrecondition);
  auto never = backend_->Prepare(Spec(), {"resume=never"}, dir_ + "/out", "cpu");
  ASSERT_TRUE(never.ok()) << never.status();
  EXPECT_EQ(backend_->CheckFiles(*never).code(), absl::StatusCode::kFailedPrecondition);
}

// Issue 22: eval.max_sequences bounds the final evaluation.
TEST_F(EngineBackendTest, FinalEvaluationCoversAtMostMaxSequences) {
  auto p = backend_->Prepare(Spec(), {"eval.max_sequences=3", "optim.max_steps=2"}, dir_ + "/out",
                             "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  JobRecord job = Job(*p, "job-000003");
  RecordingContext ctx;
  auto r = backend_->Run(job, &ctx);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_FALSE(ctx.evals.empty());
  EXPECT_EQ(ctx.evals.back().sequences, 4);  // rounded up to whole batches of 2
  EXPECT_EQ(
      backend_->Prepare(Spec(), {"eval.max_sequences=-1"}, dir_ + "/o", "cpu").status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineBackendTest, RecordsEventsAndFinishesTheRunOnlyWhenTheJobCompletes) {
  auto backend = RecordingBackend();
  ASSERT_NE(backend, nullptr);
  auto p = backend->Prepare(Spec(), {"record.sample_rate=1"}, dir_ + "/out", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(p->records_events);
  JobRecord job = Job(*p, "job-000002", "job-000002");

  RecordingContext first;
  ASSERT_TRUE(Attempt(*backend, job, 0, 3, &first).stopped_early);
  auto s1 = rec_->store()->GetRun(job.id);
  ASSERT_TRUE(s1.ok()) << s1.status();
  EXPECT_GT(s1->events, 0u);
  EXPECT_FALSE(s1->finished);  // stopped early: the resumed attempt will add events

  RecordingContext second;
  const RunOutcome r2 = Attempt(*backend, job, 1, 0, &second);
  ASSERT_FALSE(r2.stopped_early);
  auto s2 = rec_->store()->GetRun(job.id);
  ASSERT_TRUE(s2.ok()) << s2.status();
  EXPECT_GT(s2->events, s1->events);
  EXPECT_TRUE(s2->finished);
  EXPECT_GT(s2->finished_unix_ms, 0);
  // The run names its final checkpoint (the explorer loads it without ?checkpoint=).
  auto label = s2->spec.labels.find("checkpoint");
  ASSERT_NE(label, s2->spec.labels.end());
  EXPECT_EQ(fs::path(label->second), fs::absolute(r2.checkpoint_dir).lexically_normal());
  EXPECT_TRUE(fs::is_directory(label->second)) << label->second;
}

// A job resumed by this trainer into a run that an older trainer created without the checkpoint
// label (same layout, one label fewer): the recorder adds the label and the job records.
TEST_F(EngineBackendTest, ResumedJobRecordsIntoARunCreatedWithoutTheCheckpointLabel) {
  recorder::testing::TempDir rdir;
  recorder::testing::InProcessRecorder first_rec(rdir.Sub("db1"));
  ASSERT_TRUE(first_rec.Start());
  EngineBackendOptions o = Options();
  o.upload.recorder_address = first_rec.address();
  auto backend = EngineBackend::Create(o);
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto p = (*backend)->Prepare(Spec(), {"record.sample_rate=1"}, dir_ + "/out", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  const JobRecord job = Job(*p, "job-000004", "job-000004");
  RecordingContext first;
  ASSERT_TRUE(Attempt(**backend, job, 0, 3, &first).stopped_early);
  // The older trainer's run: the same layout and labels but no checkpoint label.
  auto old = first_rec.store()->GetRun(job.id);
  ASSERT_TRUE(old.ok()) << old.status();
  recorder::RunSpecData old_spec = old->spec;
  ASSERT_EQ(old_spec.labels.erase("checkpoint"), 1u);
  recorder::testing::InProcessRecorder rec(rdir.Sub("db2"));
  ASSERT_TRUE(rec.Start());
  ASSERT_TRUE(*rec.store()->CreateRun(old_spec));
  o.upload.recorder_address = rec.address();
  backend = EngineBackend::Create(o);
  ASSERT_TRUE(backend.ok()) << backend.status();
  RecordingContext second;
  ASSERT_FALSE(Attempt(**backend, job, 1, 0, &second).stopped_early);
  EXPECT_GE(second.starts.at(0), 3);  // resumed, not restarted
  auto s2 = rec.store()->GetRun(job.id);
  ASSERT_TRUE(s2.ok()) << s2.status();
  EXPECT_GT(s2->events, 0u);  // recorded, not dropped
  EXPECT_TRUE(s2->finished);
  EXPECT_EQ(s2->spec.labels.count("checkpoint"), 1u);
  EXPECT_EQ(s2->spec.labels.at("job"), old_spec.labels.at("job"));
}

// distributed.nproc_per_node 2: two rank workers (Gloo on 127.0.0.1), each uploading its share;
// stopped and resumed, the recorder holds exactly the events of the same job run by one worker.
TEST_F(EngineBackendTest, DistributedJobRecordsEveryEventOnceAcrossRanksAndResume) {
  auto backend = RecordingBackend();
  ASSERT_NE(backend, nullptr);
  auto run = [&](const std::string& id, int nproc, int64_t stop_after, RunOutcome* out,
                 int resumes = 0) {
    auto p = backend->Prepare(
        Spec(),
        {"record.sample_rate=1", absl::StrCat("distributed.nproc_per_node=", nproc),
         "distributed.timeout_s=60", "optim.batch_size=4"},
        dir_ + "/out-" + id, "cpu");
    ASSERT_TRUE(p.ok()) << p.status();
    RecordingContext ctx;
    *out = Attempt(*backend, Job(*p, id, id), resumes, stop_after, &ctx);
  };
  RunOutcome one, first, second;
  run("job-000010", 1, 0, &one);
  ASSERT_FALSE(one.stopped_early);
  run("job-000011", 2, 3, &first);
  ASSERT_TRUE(first.stopped_early);
  EXPECT_TRUE(fs::exists(dir_ + "/work/job-000011/worker-rank1.log"));
  run("job-000011", 2, 0, &second, /*resumes=*/1);
  ASSERT_FALSE(second.stopped_early);
  EXPECT_EQ(second.final_step, 6);
  EXPECT_NEAR(second.final_val_loss, one.final_val_loss, 1e-4);
  auto a = rec_->store()->GetRun("job-000010");
  auto b = rec_->store()->GetRun("job-000011");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_GT(a->events, 0u);
  EXPECT_EQ(b->events, a->events);  // every event once: no rank's share lost or doubled
  EXPECT_TRUE(b->finished);
}

TEST_F(EngineBackendTest, DistributedGlobalBatchMustSplit) {
  auto p = backend_->Prepare(Spec(), {"distributed.nproc_per_node=2", "optim.batch_size=3"},
                             dir_ + "/out", "cpu");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("optim.batch_size: 3"), std::string::npos) << p.status();
  p = backend_->Prepare(Spec(), {"distributed.nproc_per_node=3"}, dir_ + "/out", "cpu");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("distributed.nproc_per_node: 3 exceeds"), std::string::npos)
      << p.status();
}

TEST_F(EngineBackendTest, SubmissionChecksNameTheField) {
  auto check = [&](const std::vector<std::string>& sets) -> absl::Status {
    auto p = backend_->Prepare(Spec(), sets, dir_ + "/out", "cpu");
    if (!p.ok()) return p.status();
    return backend_->CheckFiles(*p);
  };
  EXPECT_TRUE(check({}).ok());
  absl::Status s = check({"optim.batch_size=1000000000"});
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("estimated"), std::string::npos) << s;
  EXPECT_NE(s.message().find("--job-memory-limit-mb 4096"), std::string::npos) << s;
  EXPECT_NE(s.message().find("optim.batch_size"), std::string::npos) << s;
  s = check({"optim.grad_accum=1000000000"});
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("optim.grad_accum"), std::string::npos) << s;
  // A spec may lower the limit, not raise it.
  s = check({"memory_limit_mb=100"});
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("memory_limit_mb 100"), std::string::npos) << s;
  s = check({"memory_limit_mb=5000"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  s = check({"threads=3"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("threads: 3 exceeds the server's cap --max-job-threads 2"),
            std::string::npos)
      << s;
  s = check({"data.tokenize_threads=1000000"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("data.tokenize_threads"), std::string::npos) << s;

  // A finetune's limits come from its model_dir: the fixture has 4 layers and 64 positions.
  const std::string model = std::string(MONOROUTE_SOURCE_DIR) + "/tests/fixtures/gptneo_tiny";
  const std::string ft =
      "kind: finetune\nmodel_dir: " + model +
      "\nrouting: {num_pathways: 4, top_k: 2, router_hidden: 8}\n"
      "data: {train_path: " +
      dir_ + "/train.txt, seq_len: 16, tokenizer_dir: " + MONOROUTE_TOKENIZER_DIR + "}\n";
  auto p = backend_->Prepare(ft, {"data.seq_len=1000000000"}, dir_ + "/ft", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  s = backend_->CheckFiles(*p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("data.seq_len: 1000000000 exceeds the model's "
                             "max_position_embeddings 64"),
            std::string::npos)
      << s;
  p = backend_->Prepare(ft, {"routing.layers=[100]"}, dir_ + "/ft", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  s = backend_->CheckFiles(*p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("routing.layers[0]: 100 is not a layer of the model (4 layers"),
            std::string::npos)
      << s;
}

// A Pythia-160M-sized job (HF's config.json) under the test server's --job-memory-limit-mb 4096 is
// refused at submission, before any worker starts, naming the estimate and what to lower.
TEST_F(EngineBackendTest, PythiaSizedJobAboveTheLimitIsRefusedAtSubmission) {
  std::ofstream(dir_ + "/pythia160m.json")
      << R"({"model_type": "gpt_neox", "hidden_size": 768, "intermediate_size": 3072,
             "num_attention_heads": 12, "num_hidden_layers": 12, "max_position_embeddings": 2048,
             "rotary_pct": 0.25, "rotary_emb_base": 10000, "use_parallel_residual": true,
             "tie_word_embeddings": false, "hidden_act": "gelu", "layer_norm_eps": 1e-05,
             "vocab_size": 50304})";
  auto p = backend_->Prepare(Spec(), {"model.config_path=" + dir_ + "/pythia160m.json"},
                             dir_ + "/pythia", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  const absl::Status s = backend_->CheckFiles(*p);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("job needs an estimated"), std::string::npos) << s;
  // 162,322,944 + 6 routers of 768 -> 8 -> 4.
  EXPECT_NE(s.message().find("162360072 parameters"), std::string::npos) << s;
  EXPECT_NE(s.message().find("(--job-memory-limit-mb 4096); lower model.config_path"),
            std::string::npos)
      << s;
  EXPECT_FALSE(fs::exists(dir_ + "/pythia/checkpoints"));  // nothing ran
}

TEST_F(EngineBackendTest, CrashingWorkerFailsWithSignalAndLastOutput) {
  // A stand-in worker that prints an error and dies the way a crashing one does.
  const std::string fake = dir_ + "/fake-worker.sh";
  std::ofstream(fake) << "#!/bin/sh\necho 'terminate called after throwing std::bad_alloc' >&2\n"
                         "kill -ABRT $$\n";
  fs::permissions(fake, fs::perms::owner_all);
  EngineBackendOptions o = Options();
  o.worker_binary = fake;
  auto backend = EngineBackend::Create(o);
  ASSERT_TRUE(backend.ok());
  auto p = (*backend)->Prepare(Spec(), {}, dir_ + "/out", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  JobRecord job = Job(*p, "job-000009");
  RecordingContext ctx;
  auto r = (*backend)->Run(job, &ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("killed by SIGABRT"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("std::bad_alloc"), std::string::npos) << r.status();
}

TEST_F(EngineBackendTest, RunIdTakenByAnotherSpecFailsTheJobAtStart) {
  auto backend = RecordingBackend();
  ASSERT_NE(backend, nullptr);
  recorder::RunSpecData other;
  other.run_id = "abcdef0123456789-job-000003";
  other.routed_layers = {0};
  other.num_pathways = 3;
  other.top_k = 1;
  other.vocab_size = 7;
  ASSERT_TRUE(rec_->store()->CreateRun(other).ok());
  auto p = backend->Prepare(Spec(), {"record.sample_rate=1"}, dir_ + "/out", "cpu");
  ASSERT_TRUE(p.ok()) << p.status();
  JobRecord job = Job(*p, "job-000003", other.run_id);
  RecordingContext ctx;
  auto r = backend->Run(job, &ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_NE(r.status().message().find("recorder refused run 'abcdef0123456789-job-000003'"),
            std::string::npos)
      << r.status();
  EXPECT_TRUE(ctx.progress.empty());  // failed before the first step
}

}  // namespace
}  // namespace monoroute::trainer
