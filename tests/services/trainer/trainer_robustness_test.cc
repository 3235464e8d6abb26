// monoroute-trainer as a process against hostile and careless input (issue 13), with real
// binaries on 127.0.0.1: every hostile spec is refused at SubmitJob with the right code and the
// field named; a worker killed with SIGKILL fails only its job and the queue goes on; cancel kills
// the worker; SIGTERM stops workers cleanly and the job resumes; a job RUNNING whenever the trainer
// is SIGKILLed is retried, then FAILED as "crashed the trainer"; two trainers sharing a recorder
// get distinct run ids and both keep their events; an unreachable recorder ends the job
// SUCCEEDED_WITH_WARNINGS. Throughout, ListJobs is answered within a second (a probe thread).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"
#include "monoroute/trainer/v1/trainer.grpc.pb.h"
#include "tests/testing/grpc_call.h"
#include "tests/testing/process.h"
#include "tests/testing/stories.h"
#include "tests/testing/work_dir_test.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;
namespace tv1 = trainer::v1;
using ::monoroute::testing::Call;
using ::monoroute::testing::ServiceProcess;
using ::testing::_;
using ::testing::HasSubstr;

std::string Addr(int port) { return "127.0.0.1:" + std::to_string(port); }

std::unique_ptr<tv1::Trainer::Stub> TrainerStub(int port) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(128 << 20);
  return tv1::Trainer::NewStub(
      grpc::CreateCustomChannel(Addr(port), grpc::InsecureChannelCredentials(), args));
}

// True once `pid` no longer runs (gone, or a zombie waiting to be reaped).
bool ProcessGone(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), {});
  return content.empty() || content.find(") Z ") != std::string::npos;
}

// Matches a tv1::Job in `state` whose failure_reason matches `reason` (a string or a matcher).
MATCHER_P2(JobIs, state, reason, "") {
  *result_listener << "whose state is " << tv1::JobState_Name(arg.state()) << " ("
                   << arg.failure_reason() << ")";
  return arg.state() == state &&
         ::testing::ExplainMatchResult(reason, arg.failure_reason(), result_listener);
}

// Calls ListJobs every 100 ms with a 1 s deadline on its own channel and counts the calls that
// failed or missed the deadline, while enabled.
class ListJobsProbe {
 public:
  explicit ListJobsProbe(int port) : stub_(TrainerStub(port)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ListJobsProbe() {
    stop_ = true;
    thread_.join();
  }
  // Pauses around deliberate trainer kills and restarts.
  void Enable(bool on) {
    std::lock_guard<std::mutex> l(mu_);
    enabled_ = on;
  }
  int calls() const { return calls_; }
  std::vector<std::string> failures() {
    std::lock_guard<std::mutex> l(mu_);
    return failures_;
  }

 private:
  void Loop() {
    while (!stop_) {
      bool on;
      {
        std::lock_guard<std::mutex> l(mu_);
        on = enabled_;
      }
      if (on) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
        tv1::ListJobsResponse resp;
        grpc::Status s = stub_->ListJobs(&ctx, tv1::ListJobsRequest(), &resp);
        std::lock_guard<std::mutex> l(mu_);
        if (enabled_) {
          ++calls_;
          if (!s.ok()) failures_.push_back(absl::StrCat(s.error_code(), ": ", s.error_message()));
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::unique_ptr<tv1::Trainer::Stub> stub_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  bool enabled_ = true;
  std::atomic<int> calls_{0};
  std::vector<std::string> failures_;
};

class TrainerRobustnessTest : public ::monoroute::testing::WorkDirTest {
 protected:
  TrainerRobustnessTest() : WorkDirTest("trainer_robust", /*ports=*/4) {}
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(WorkDirTest::SetUp());
    ::monoroute::testing::WriteText(work_ + "/train.txt", ::monoroute::testing::Stories(90));
  }
  void StartRecorder(ServiceProcess* p) {
    ASSERT_TRUE(p->Start("recorder",
                         {bin_ + "/monoroute-recorder", "--listen", Addr(ports_[0]), "--data-dir",
                          work_ + "/recorder", "--metrics-listen", ""},
                         work_ + "/logs/recorder.log")
                    .ok());
    ASSERT_TRUE(p->WaitReady(Addr(ports_[0]), std::chrono::seconds(30)).ok());
  }

  // A trainer on ports_[port_index] with data dir `data` and extra flags.
  void StartTrainer(ServiceProcess* p, int port_index, const std::string& data,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {bin_ + "/monoroute-trainer",
                                     "--listen",
                                     Addr(ports_[port_index]),
                                     "--data-dir",
                                     work_ + "/" + data,
                                     "--metrics-listen",
                                     "",
                                     "--allowed-root",
                                     work_,
                                     "--max-job-threads",
                                     "2",
                                     "--job-memory-limit-mb",
                                     "4096",
                                     "--job-stop-grace-s",
                                     "20"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(p->Start("trainer", argv, work_ + "/logs/" + data + ".log").ok());
    auto ready = p->WaitReady(Addr(ports_[port_index]), std::chrono::seconds(30));
    ASSERT_TRUE(ready.ok()) << ready;
  }

  // A tiny routed pretrain job (seconds).
  std::string Spec(int steps) const {
    return absl::StrCat(
        "kind: pretrain\n"
        "model: {hidden_size: 16, num_layers: 2, num_heads: 2, max_position_embeddings: 64}\n"
        "routing: {enabled: true, num_pathways: 4, top_k: 2, router_hidden: 8}\n"
        "data: {train_path: ",
        work_, "/train.txt, seq_len: 16, valid_fraction: 0.2}\n", "optim: {max_steps: ", steps,
        ", warmup_steps: 1, batch_size: 2}\n",
        "eval_every: 0\neval_batches: 2\ncheckpoint_every: 5\nlog_every: 1\nthreads: 1\n"
        "record: {sample_rate: 1.0, eval_split_events: true}\n");
  }

  static absl::StatusOr<tv1::Job> Submit(tv1::Trainer::Stub* stub, const std::string& yaml,
                                         const std::vector<std::string>& sets = {},
                                         const std::string& name = "") {
    tv1::SubmitJobRequest req;
    req.set_spec_yaml(yaml);
    for (const auto& s : sets) req.add_overrides(s);
    req.set_name(name);
    tv1::SubmitJobResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    grpc::Status s = stub->SubmitJob(&ctx, req, &resp);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    }
    return resp.job();
  }

  static tv1::Job Get(tv1::Trainer::Stub* stub, const std::string& id) {
    tv1::GetJobRequest req;
    req.set_id(id);
    tv1::Job job;
    for (int attempt = 0; attempt < 50; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_wait_for_ready(true);
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (stub->GetJob(&ctx, req, &job).ok()) return job;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "GetJob " << id << " failed";
    return job;
  }

  // Polls job `id` until `done` holds (at most `limit`); returns the last record.
  static tv1::Job WaitFor(tv1::Trainer::Stub* stub, const std::string& id,
                          const std::function<bool(const tv1::Job&)>& done,
                          std::chrono::seconds limit = std::chrono::seconds(180)) {
    auto end = std::chrono::steady_clock::now() + limit;
    tv1::Job j;
    while (std::chrono::steady_clock::now() < end) {
      j = Get(stub, id);
      if (done(j)) return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << id
                  << " did not reach the expected state; last: " << tv1::JobState_Name(j.state())
                  << " " << j.failure_reason();
    return j;
  }

  static bool Terminal(const tv1::Job& j) {
    return j.state() == tv1::SUCCEEDED || j.state() == tv1::SUCCEEDED_WITH_WARNINGS ||
           j.state() == tv1::FAILED || j.state() == tv1::CANCELLED;
  }
  // RUNNING in a worker that has done at least `steps` steps.
  static std::function<bool(const tv1::Job&)> RunningPast(int64_t steps) {
    return [steps](const tv1::Job& j) {
      return j.state() == tv1::RUNNING && j.worker_pid() > 0 && j.progress().step() >= steps;
    };
  }

  const std::string bin_ = MONOROUTE_BIN_DIR;
};

TEST_F(TrainerRobustnessTest, HostileSpecsAreRefusedAtSubmitJob) {
  ServiceProcess trainer;
  ASSERT_NO_FATAL_FAILURE(StartTrainer(&trainer, 1, "trainer"));
  ListJobsProbe probe(ports_[1]);
  auto stub = TrainerStub(ports_[1]);
  const std::string spec = Spec(4);

  struct Case {
    std::string what;
    std::string yaml;
    std::vector<std::string> sets;
    std::string name;
    absl::StatusCode code;
    std::string needle;  // the field (or limit) the message must name
  };
  std::string laughs = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 9; ++i) {
    std::string p = absl::StrCat("*a", i - 1);
    absl::StrAppend(&laughs, "a", i, ": &a", i, " [", p, ", ", p, ", ", p, ", ", p, ", ", p, ", ",
                    p, ", ", p, ", ", p, ", ", p, "]\n");
  }
  const std::vector<Case> cases = {
      {"batch_size 1e9",
       spec,
       {"optim.batch_size=1000000000"},
       "",
       absl::StatusCode::kResourceExhausted,
       "optim.batch_size"},
      {"grad_accum 1e9",
       spec,
       {"optim.grad_accum=1000000000"},
       "",
       absl::StatusCode::kResourceExhausted,
       "optim.grad_accum"},
      {"threads 1e6",
       spec,
       {"threads=1000000"},
       "",
       absl::StatusCode::kInvalidArgument,
       "threads: must be <= 4096"},
      {"threads over the server cap",
       spec,
       {"threads=3"},
       "",
       absl::StatusCode::kInvalidArgument,
       "--max-job-threads 2"},
      {"tokenize_threads 1e6",
       spec,
       {"data.tokenize_threads=1000000"},
       "",
       absl::StatusCode::kInvalidArgument,
       "data.tokenize_threads"},
      {"seq_len 1e9",
       spec,
       {"data.seq_len=1000000000"},
       "",
       absl::StatusCode::kInvalidArgument,
       "data.seq_len"},
      {"routing.layers [100]",
       spec,
       {"routing.layers=[100]"},
       "",
       absl::StatusCode::kInvalidArgument,
       "routing.layers[0]"},
      {"memory_limit_mb over the server's",
       spec,
       {"memory_limit_mb=100000"},
       "",
       absl::StatusCode::kInvalidArgument,
       "memory_limit_mb"},
      {"1 KiB name",
       spec,
       {},
       std::string(1024, 'n'),
       absl::StatusCode::kInvalidArgument,
       "name: 1024 bytes"},
      {"300-byte name in the spec",
       spec + "name: " + std::string(300, 'n') + "\n",
       {},
       "",
       absl::StatusCode::kInvalidArgument,
       "name: 300 bytes"},
      {"1.1 MiB spec",
       spec + "# " + std::string(1100 * 1024, 'x') + "\n",
       {},
       "",
       absl::StatusCode::kResourceExhausted,
       "1048576"},
      {"billion laughs",
       laughs,
       {},
       "",
       absl::StatusCode::kInvalidArgument,
       "aliases are not allowed in job specs"},
  };
  ASSERT_LT(laughs.size(), 1100u);
  for (const Case& c : cases) {
    absl::StatusOr<tv1::Job> r = Submit(stub.get(), c.yaml, c.sets, c.name);
    ASSERT_FALSE(r.ok()) << c.what << " was accepted";
    EXPECT_EQ(r.status().code(), c.code) << c.what << ": " << r.status();
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.what << ": " << r.status();
    EXPECT_LT(r.status().message().size(), 2000u) << c.what;
  }
  // A 50 MB name does not even reach the trainer's code: gRPC's receive limit refuses it.
  absl::StatusOr<tv1::Job> huge = Submit(stub.get(), spec, {}, std::string(50 << 20, 'n'));
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted) << huge.status();

  // Nothing was queued, and the trainer still runs a good job.
  tv1::ListJobsResponse listed;
  ASSERT_TRUE(
      Call(stub.get(), &tv1::Trainer::Stub::ListJobs, tv1::ListJobsRequest(), &listed).ok());
  EXPECT_EQ(listed.jobs_size(), 0);
  absl::StatusOr<tv1::Job> good = Submit(stub.get(), spec);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_THAT(WaitFor(stub.get(), good->id(), Terminal), JobIs(tv1::SUCCEEDED, _));
  EXPECT_GT(probe.calls(), 0);
  EXPECT_TRUE(probe.failures().empty()) << probe.failures().front();
}

// With no worker retries left (--max-worker-retries 0; the retries themselves are
// trainer_worker_faults_test's), a killed worker fails only its job.
TEST_F(TrainerRobustnessTest, KilledWorkerFailsOnlyItsJobAndCancelKillsTheWorker) {
  ServiceProcess trainer;
  ASSERT_NO_FATAL_FAILURE(StartTrainer(&trainer, 1, "trainer", {"--max-worker-retries", "0"}));
  ListJobsProbe probe(ports_[1]);
  auto stub = TrainerStub(ports_[1]);
  auto victim = Submit(stub.get(), Spec(100000));
  auto next = Submit(stub.get(), Spec(4));
  ASSERT_TRUE(victim.ok() && next.ok());
  tv1::Job running = WaitFor(stub.get(), victim->id(), RunningPast(1));
  const int pid = running.worker_pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  tv1::Job failed = WaitFor(stub.get(), victim->id(), Terminal);
  EXPECT_THAT(failed, JobIs(tv1::FAILED, HasSubstr("killed by SIGKILL")));
  EXPECT_EQ(failed.worker_pid(), 0);
  EXPECT_THAT(WaitFor(stub.get(), next->id(), Terminal), JobIs(tv1::SUCCEEDED, _));

  // Cancel: SIGTERM to the worker, which checkpoints and exits.
  auto cancelled = Submit(stub.get(), Spec(100000));
  ASSERT_TRUE(cancelled.ok());
  running = WaitFor(stub.get(), cancelled->id(), RunningPast(2));
  const int pid2 = running.worker_pid();
  tv1::CancelJobRequest creq;
  creq.set_id(cancelled->id());
  ASSERT_TRUE(Call(stub.get(), &tv1::Trainer::Stub::CancelJob, creq).ok());
  tv1::Job after = WaitFor(stub.get(), cancelled->id(), Terminal);
  EXPECT_EQ(after.state(), tv1::CANCELLED);
  EXPECT_TRUE(ProcessGone(pid2));
  EXPECT_FALSE(after.checkpoint_dir().empty());  // the worker checkpointed on SIGTERM
  EXPECT_TRUE(probe.failures().empty()) << probe.failures().front();
}

TEST_F(TrainerRobustnessTest, TrainerDeathRetriesTheJobThenFailsIt) {
  auto trainer = std::make_unique<ServiceProcess>();
  const std::vector<std::string> retries = {"--max-job-retries", "1"};
  ASSERT_NO_FATAL_FAILURE(StartTrainer(trainer.get(), 1, "trainer", retries));
  auto stub = TrainerStub(ports_[1]);
  auto job = Submit(stub.get(), Spec(100000));
  ASSERT_TRUE(job.ok());
  const std::string id = job->id();

  // SIGTERM: the worker checkpoints and stops; the job resumes on the next start (no crash).
  tv1::Job running = WaitFor(stub.get(), id, RunningPast(2));
  int pid = running.worker_pid();
  EXPECT_EQ(trainer->Stop(std::chrono::seconds(60)), "exit 0");
  EXPECT_TRUE(ProcessGone(pid));
  trainer = std::make_unique<ServiceProcess>();
  ASSERT_NO_FATAL_FAILURE(StartTrainer(trainer.get(), 1, "trainer", retries));
  running = WaitFor(stub.get(), id, RunningPast(1));
  EXPECT_EQ(running.resumes(), 1);
  EXPECT_EQ(running.trainer_crashes(), 0);

  // SIGKILL: the worker dies with its trainer; the job is retried once...
  pid = running.worker_pid();
  trainer->Kill();
  for (int i = 0; i < 500 && !ProcessGone(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(ProcessGone(pid));
  trainer = std::make_unique<ServiceProcess>();
  ASSERT_NO_FATAL_FAILURE(StartTrainer(trainer.get(), 1, "trainer", retries));
  {
    ListJobsProbe probe(ports_[1]);
    running = WaitFor(stub.get(), id, RunningPast(1));
    EXPECT_EQ(running.trainer_crashes(), 1);
    EXPECT_EQ(running.resumes(), 2);
    EXPECT_TRUE(probe.failures().empty()) << probe.failures().front();
  }
  auto queued = Submit(stub.get(), Spec(4));
  ASSERT_TRUE(queued.ok());

  // ... and after the second death it is FAILED; the queue behind it runs.
  trainer->Kill();
  trainer = std::make_unique<ServiceProcess>();
  ASSERT_NO_FATAL_FAILURE(StartTrainer(trainer.get(), 1, "trainer", retries));
  ListJobsProbe probe(ports_[1]);
  tv1::Job failed = Get(stub.get(), id);
  EXPECT_THAT(failed, JobIs(tv1::FAILED, HasSubstr("crashed the trainer")));
  EXPECT_EQ(failed.trainer_crashes(), 2);
  EXPECT_THAT(WaitFor(stub.get(), queued->id(), Terminal), JobIs(tv1::SUCCEEDED, _));
  EXPECT_TRUE(probe.failures().empty()) << probe.failures().front();
}

TEST_F(TrainerRobustnessTest, TwoTrainersSharingARecorderNeverCollide) {
  ServiceProcess recorder, t1, t2;
  ASSERT_NO_FATAL_FAILURE(StartRecorder(&recorder));
  const std::vector<std::string> rec = {"--recorder", Addr(ports_[0])};
  ASSERT_NO_FATAL_FAILURE(StartTrainer(&t1, 1, "trainer1", rec));
  ASSERT_NO_FATAL_FAILURE(StartTrainer(&t2, 2, "trainer2", rec));
  auto s1 = TrainerStub(ports_[1]);
  auto s2 = TrainerStub(ports_[2]);
  // Same spec, same job id in both trainers.
  auto j1 = Submit(s1.get(), Spec(4));
  auto j2 = Submit(s2.get(), Spec(4));
  ASSERT_TRUE(j1.ok() && j2.ok());
  EXPECT_EQ(j1->id(), "job-000001");
  EXPECT_EQ(j2->id(), "job-000001");
  EXPECT_NE(j1->recorder_run_id(), j2->recorder_run_id());
  tv1::Job d1 = WaitFor(s1.get(), j1->id(), Terminal);
  tv1::Job d2 = WaitFor(s2.get(), j2->id(), Terminal);
  auto rstub = recorder::v1::Recorder::NewStub(
      grpc::CreateChannel(Addr(ports_[0]), grpc::InsecureChannelCredentials()));
  for (const tv1::Job* d : {&d1, &d2}) {
    EXPECT_THAT(*d, JobIs(tv1::SUCCEEDED, _));
    EXPECT_EQ(d->warnings_size(), 0);
    EXPECT_EQ(d->events().events_dropped(), 0u);
    EXPECT_GT(d->events().events_acked(), 0u);
    recorder::v1::GetRunRequest gr;
    gr.set_run_id(d->recorder_run_id());
    recorder::v1::RunSummary summary;
    ASSERT_TRUE(Call(rstub.get(), &recorder::v1::Recorder::Stub::GetRun, gr, &summary).ok())
        << d->recorder_run_id();
    EXPECT_EQ(summary.events(), d->events().events_acked()) << d->recorder_run_id();
    EXPECT_TRUE(summary.finished());
  }
  // Same spec, same seeds: the same events, each trainer's in its own run.
  EXPECT_EQ(d1.events().events_acked(), d2.events().events_acked());

  // A run id taken by a run with another spec fails the job at start, visibly.
  std::ifstream idf(work_ + "/trainer1/instance_id");
  std::string instance;
  idf >> instance;
  recorder::v1::RunSpec rs;
  rs.set_run_id(instance + "-job-000002");
  rs.add_routed_layers(0);
  rs.set_num_pathways(3);
  rs.set_top_k(1);
  rs.set_vocab_size(7);
  ASSERT_TRUE(Call(rstub.get(), &recorder::v1::Recorder::Stub::CreateRun, rs).ok());
  auto j3 = Submit(s1.get(), Spec(4));
  ASSERT_TRUE(j3.ok());
  EXPECT_EQ(j3->recorder_run_id(), instance + "-job-000002");
  EXPECT_THAT(WaitFor(s1.get(), j3->id(), Terminal),
              JobIs(tv1::FAILED, HasSubstr("recorder refused run")));
}

TEST_F(TrainerRobustnessTest, UnreachableRecorderEndsSucceededWithWarnings) {
  ServiceProcess trainer;
  // ports_[0] is free: nothing listens there.
  ASSERT_NO_FATAL_FAILURE(StartTrainer(&trainer, 1, "trainer", {"--recorder", Addr(ports_[0])}));
  auto stub = TrainerStub(ports_[1]);
  auto job = Submit(stub.get(), Spec(4));
  ASSERT_TRUE(job.ok()) << job.status();
  tv1::Job done = WaitFor(stub.get(), job->id(), Terminal);
  EXPECT_THAT(done, JobIs(tv1::SUCCEEDED_WITH_WARNINGS, _));
  EXPECT_GT(done.events().events_dropped(), 0u);
  ASSERT_GT(done.warnings_size(), 0);
  bool names_drop = false;
  for (const std::string& w : done.warnings()) {
    names_drop |= w.find("routing events dropped") != std::string::npos;
  }
  EXPECT_TRUE(names_drop) << done.warnings(0);
  // ListJobs filters by the new state.
  tv1::ListJobsRequest lr;
  lr.set_state(tv1::SUCCEEDED_WITH_WARNINGS);
  tv1::ListJobsResponse listed;
  ASSERT_TRUE(Call(stub.get(), &tv1::Trainer::Stub::ListJobs, lr, &listed).ok());
  EXPECT_EQ(listed.jobs_size(), 1);
}

}  // namespace
}  // namespace monoroute
