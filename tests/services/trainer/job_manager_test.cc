// Tests of the trainer's job manager with a fake backend: queue order, one job per device,
// persistence and resume across restarts, allowed roots, auth, invalid specs, cancel, watchers;
// retries after trainer crashes, SUCCEEDED_WITH_WARNINGS, instance ids in run ids, name bounds.
#include "services/trainer/job_manager.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "services/trainer/job_store.h"
#include "tests/services/trainer/fake_backend.h"
#include "tests/testing/temp_files.h"

namespace monoroute::trainer {
namespace {

namespace fs = std::filesystem;
using testing::FakeBackend;

class JobManagerTest : public ::testing::Test {
 protected:
  void SetUp() override { backend_ = std::make_shared<FakeBackend>(); }

  JobManagerOptions Options(bool start = true) {
    JobManagerOptions o;
    o.data_dir = dir_ + "/data";
    o.backend = backend_;
    o.start_runner = start;
    o.persist_interval_ms = 0;
    return o;
  }

  std::unique_ptr<JobManager> Make(const JobManagerOptions& o) {
    auto m = JobManager::Create(o);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? std::move(*m) : nullptr;
  }

  // Waits up to 2 s for `backend` (default: the fixture's) to start running a job.
  void WaitForFirstRun(const FakeBackend* backend = nullptr) {
    const FakeBackend& b = backend ? *backend : *backend_;
    for (int i = 0; i < 400 && b.run_order.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // What a SIGTERM leaves behind: a manager runs a blocking job (and queues `queued`, named jobs
  // of one step, behind it) and shuts down under it; the job stays RUNNING on disk. Its id.
  std::string StopWhileRunning(const std::vector<std::string>& queued = {}) {
    auto m = Make(Options());
    auto j = m->Submit({"block=1", {}, ""});
    EXPECT_TRUE(j.ok()) << j.status();
    if (!j.ok()) return "";
    for (const std::string& name : queued) EXPECT_TRUE(m->Submit({"steps=1", {}, name}).ok());
    WaitForFirstRun();
    m->Shutdown();
    EXPECT_EQ(m->Get(j->id)->state, JobState::kRunning);
    return j->id;
  }

  // Submits `spec` to `m` and waits up to 10 s for the job to end: its final record (a failed
  // expectation and an empty record when either step fails).
  JobRecord RunToEnd(JobManager* m, const std::string& spec) {
    auto j = m->Submit({spec, {}, ""});
    EXPECT_TRUE(j.ok()) << j.status();
    if (!j.ok()) return {};
    auto done = m->WaitForTerminal(j->id, 10000);
    EXPECT_TRUE(done.ok()) << done.status();
    return done.ok() ? *done : JobRecord{};
  }

  size_t StoredRecords() {
    size_t n = 0;
    if (!fs::exists(dir_ + "/data/store")) return 0;
    for (auto& e : fs::directory_iterator(dir_ + "/data/store")) n += e.is_regular_file();
    return n;
  }

  ::monoroute::testing::TempDir tmp_{"trainer_mgr"};
  std::string dir_ = tmp_.path();
  std::shared_ptr<FakeBackend> backend_;
};

TEST_F(JobManagerTest, RunsJobsInSubmissionOrderOnePerDevice) {
  auto m = Make(Options(/*start=*/false));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto j = m->Submit({"steps=5", {}, "j" + std::to_string(i)});
    ASSERT_TRUE(j.ok()) << j.status();
    EXPECT_EQ(j->state, JobState::kQueued);
    EXPECT_EQ(j->output_dir, dir_ + "/data/jobs/" + j->id);
    ids.push_back(j->id);
  }
  EXPECT_EQ(ids[0], "job-000001");
  EXPECT_EQ(m->List(JobState::kQueued).size(), 3u);
  m->StartRunner();
  for (const auto& id : ids) {
    auto done = m->WaitForTerminal(id, 10000);
    ASSERT_TRUE(done.ok());
    EXPECT_EQ(done->state, JobState::kSucceeded) << done->failure_reason;
    EXPECT_EQ(done->progress.step, 5);
    EXPECT_DOUBLE_EQ(done->final_val_loss, 2.0);
    ASSERT_EQ(done->evals.size(), 1u);
    EXPECT_EQ(done->events.events_enqueued, 50u);
  }
  EXPECT_EQ(backend_->run_order, ids);
  EXPECT_EQ(backend_->max_concurrent.load(), 1);
  EXPECT_EQ(m->List(JobState::kSucceeded).size(), 3u);
  EXPECT_TRUE(m->List(JobState::kQueued).empty());
}

TEST_F(JobManagerTest, DifferentDevicesRunConcurrently) {
  auto m = Make(Options());
  auto a = m->Submit({"block=1\ndevice=cuda:0", {}, ""});
  auto b = m->Submit({"block=1\ndevice=cuda:1", {}, ""});
  ASSERT_TRUE(a.ok() && b.ok());
  for (int i = 0; i < 400 && backend_->max_concurrent.load() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(backend_->max_concurrent.load(), 2);
  ASSERT_TRUE(m->Cancel(a->id).ok());
  ASSERT_TRUE(m->Cancel(b->id).ok());
  EXPECT_EQ(m->WaitForTerminal(a->id, 5000)->state, JobState::kCancelled);
  EXPECT_EQ(m->WaitForTerminal(b->id, 5000)->state, JobState::kCancelled);
}

TEST_F(JobManagerTest, InvalidSpecIsRejectedAndNothingQueued) {
  auto m = Make(Options(false));
  auto j = m->Submit({"invalid=optim.lr: must be > 0", {}, ""});
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(j.status().message().find("optim.lr"), std::string::npos);
  auto empty = m->Submit({"", {}, ""});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(m->List(std::nullopt).empty());
  EXPECT_EQ(StoredRecords(), 0u);
  EXPECT_EQ(backend_->check_files_calls.load(), 0);
}

TEST_F(JobManagerTest, PathsOutsideAllowedRootsAreDenied) {
  auto o = Options(false);
  o.allowed_roots = {dir_ + "/data", dir_ + "/corpus"};
  auto m = Make(o);
  auto bad = m->Submit({"path.data.train_path=/etc/passwd", {}, ""});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(bad.status().message().find("data.train_path"), std::string::npos);
  auto bad_out = m->Submit({"steps=1", {"output_dir=/tmp/elsewhere"}, ""});
  EXPECT_EQ(bad_out.status().code(), absl::StatusCode::kPermissionDenied);
  auto rel = m->Submit({"path.model_dir=models/x", {}, ""});
  EXPECT_EQ(rel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(m->List(std::nullopt).empty());
  EXPECT_EQ(StoredRecords(), 0u);
  EXPECT_EQ(backend_->check_files_calls.load(), 0);  // nothing outside the roots was probed
  auto ok = m->Submit({"path.data.train_path=" + dir_ + "/corpus/train.txt", {}, ""});
  EXPECT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(backend_->check_files_calls.load(), 1);
}

TEST_F(JobManagerTest, QueuedJobsSurviveRestartAndIdsContinue) {
  {
    auto m = Make(Options(false));
    ASSERT_TRUE(m->Submit({"steps=1", {}, "a"}).ok());
    ASSERT_TRUE(m->Submit({"steps=1", {}, "b"}).ok());
  }
  auto m = Make(Options(false));
  auto queued = m->List(JobState::kQueued);
  ASSERT_EQ(queued.size(), 2u);
  EXPECT_EQ(queued[0].name, "a");
  EXPECT_EQ(queued[1].name, "b");
  auto c = m->Submit({"steps=1", {}, "c"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->id, "job-000003");
}

TEST_F(JobManagerTest, RunningJobResumesFirstAfterRestart) {
  const std::string running_id = StopWhileRunning({"later"});
  ASSERT_FALSE(running_id.empty());
  auto fresh = std::make_shared<FakeBackend>();
  auto o = Options(false);
  o.backend = fresh;
  auto m = Make(o);
  auto j = m->Get(running_id);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->state, JobState::kRunning);
  EXPECT_EQ(j->resumes, 1);
  EXPECT_EQ(j->checkpoint_dir, j->output_dir + "/ckpt-1");
  m->StartRunner();
  // The resumed job blocks again ("block=1" is in its spec): it must run before "later".
  WaitForFirstRun(fresh.get());
  ASSERT_FALSE(fresh->run_order.empty());
  EXPECT_EQ(fresh->run_order[0], running_id);
  ASSERT_TRUE(m->Cancel(running_id).ok());
  EXPECT_EQ(m->WaitForTerminal(running_id, 5000)->state, JobState::kCancelled);
  auto later = m->List(std::nullopt).back();
  EXPECT_EQ(m->WaitForTerminal(later.id, 5000)->state, JobState::kSucceeded);
}

TEST_F(JobManagerTest, CancelQueuedRunningAndFinished) {
  auto m = Make(Options());
  auto running = m->Submit({"block=1", {}, ""});
  auto queued = m->Submit({"steps=1", {}, ""});
  ASSERT_TRUE(running.ok() && queued.ok());
  auto q = m->Cancel(queued->id);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->state, JobState::kCancelled);
  WaitForFirstRun();
  auto r = m->Cancel(running->id);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cancel_requested);
  EXPECT_EQ(m->WaitForTerminal(running->id, 5000)->state, JobState::kCancelled);
  EXPECT_EQ(m->Cancel(running->id).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(m->Cancel("job-999999").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(backend_->run_order.size(), 1u);  // the cancelled queued job never ran
}

TEST_F(JobManagerTest, FailedRunRecordsReason) {
  auto m = Make(Options());
  const JobRecord done = RunToEnd(m.get(), "fail=data.train_path: no tokens");
  ASSERT_FALSE(done.id.empty());
  EXPECT_EQ(done.state, JobState::kFailed);
  EXPECT_EQ(done.failure_reason, "data.train_path: no tokens");
}

TEST_F(JobManagerTest, WatcherSeesStateStepsAndTerminal) {
  auto m = Make(Options(false));
  auto j = m->Submit({"steps=4", {}, ""});
  ASSERT_TRUE(j.ok());
  std::mutex mu;
  std::vector<std::pair<JobUpdateKind, JobRecord>> seen;
  auto sub = m->Subscribe(j->id, [&](JobUpdateKind k, const JobRecord& r) {
    std::lock_guard<std::mutex> l(mu);
    seen.emplace_back(k, r);
  });
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->second.state, JobState::kQueued);
  m->StartRunner();
  ASSERT_EQ(m->WaitForTerminal(j->id, 5000)->state, JobState::kSucceeded);
  m->Unsubscribe(sub->first);
  std::lock_guard<std::mutex> l(mu);
  ASSERT_GE(seen.size(), 6u);
  EXPECT_EQ(seen.front().first, JobUpdateKind::kState);
  EXPECT_EQ(seen.front().second.state, JobState::kRunning);
  int steps = 0, evals = 0;
  for (auto& [k, r] : seen) {
    steps += k == JobUpdateKind::kStep;
    evals += k == JobUpdateKind::kEval;
  }
  EXPECT_GE(steps, 4);
  EXPECT_EQ(evals, 1);
  EXPECT_EQ(seen.back().first, JobUpdateKind::kState);
  EXPECT_EQ(seen.back().second.state, JobState::kSucceeded);
}

TEST_F(JobManagerTest, ExportsAgreedMetrics) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto o = Options();
  o.registry = registry.get();
  auto m = Make(o);
  auto j = m->Submit({"steps=6", {}, ""});
  ASSERT_TRUE(j.ok());
  ASSERT_EQ(m->WaitForTerminal(j->id, 5000)->state, JobState::kSucceeded);
  std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
  EXPECT_NE(text.find("monoroute_trainer_steps_total{job_id=\"job-000001\"} 6"), std::string::npos)
      << text;
  EXPECT_NE(text.find("monoroute_trainer_jobs{state=\"SUCCEEDED\"} 1"), std::string::npos);
  EXPECT_NE(text.find("monoroute_trainer_loss{job_id=\"job-000001\",kind=\"val\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("monoroute_trainer_load_entropy{job_id=\"job-000001\",layer=\"0\"}"),
            std::string::npos);
  EXPECT_NE(text.find("monoroute_trainer_events_sent_total{job_id=\"job-000001\"} 60"),
            std::string::npos);
}

TEST_F(JobManagerTest, EndedJobsSeriesAreRemovedAfterTheLinger) {
  // Per-job series must not grow without bound: a job's job_id series go once it has ended and
  // the linger has passed (here 0: at its end); the state gauges stay.
  auto registry = std::make_shared<prometheus::Registry>();
  auto o = Options();
  o.registry = registry.get();
  o.metrics_job_linger_ms = 0;
  auto m = Make(o);
  auto j = m->Submit({"steps=6", {}, ""});
  ASSERT_TRUE(j.ok());
  ASSERT_EQ(m->WaitForTerminal(j->id, 5000)->state, JobState::kSucceeded);
  std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
  EXPECT_EQ(text.find("job_id=\"job-000001\""), std::string::npos) << text;
  EXPECT_NE(text.find("monoroute_trainer_jobs{state=\"SUCCEEDED\"} 1"), std::string::npos);

  // With a long linger the ended job's series stay (ExportsAgreedMetrics reads them).
  o.metrics_job_linger_ms = 3600 * 1000;
  o.data_dir = dir_ + "/linger";
  auto registry2 = std::make_shared<prometheus::Registry>();
  o.registry = registry2.get();
  auto m2 = Make(o);
  auto j2 = m2->Submit({"steps=6", {}, ""});
  ASSERT_TRUE(j2.ok());
  ASSERT_EQ(m2->WaitForTerminal(j2->id, 5000)->state, JobState::kSucceeded);
  text = prometheus::TextSerializer().Serialize(registry2->Collect());
  EXPECT_NE(text.find("job_id=\"" + j2->id + "\""), std::string::npos) << text;
  o.metrics_job_linger_ms = -1;
  EXPECT_EQ(JobManager::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerTest, CleanShutdownIsNotATrainerCrash) {
  const std::string id = StopWhileRunning();
  ASSERT_FALSE(id.empty());
  auto o = Options(false);
  o.max_job_retries = 0;
  auto m = Make(o);
  auto j = m->Get(id);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->state, JobState::kRunning);  // resumes: a SIGTERM stop is not a crash
  EXPECT_EQ(j->trainer_crashes, 0);
  EXPECT_EQ(j->resumes, 1);
}

TEST_F(JobManagerTest, JobRunningWhenTheTrainerDiedIsRetriedThenFailed) {
  std::string id, later;
  {
    auto m = Make(Options(false));
    id = m->Submit({"steps=1", {}, "victim"})->id;
    later = m->Submit({"steps=1", {}, "later"})->id;
  }
  // What a SIGKILLed trainer leaves behind: RUNNING on disk, no clean-stop mark.
  auto store = JobStore::Create({dir_ + "/data/store"});
  ASSERT_TRUE(store.ok());
  auto all = (*store)->LoadAll();
  ASSERT_TRUE(all.ok());
  for (JobRecord r : *all) {
    if (r.id != id) continue;
    r.state = JobState::kRunning;
    ASSERT_TRUE((*store)->Put(r).ok());
  }
  auto o = Options(false);
  o.max_job_retries = 1;
  {
    auto m = Make(o);  // first crash: retried
    auto j = m->Get(id);
    EXPECT_EQ(j->state, JobState::kRunning);
    EXPECT_EQ(j->trainer_crashes, 1);
    EXPECT_EQ(j->resumes, 1);
  }  // the runner never started it: still RUNNING on disk, as after a second crash
  auto m = Make(o);
  auto j = m->Get(id);
  EXPECT_EQ(j->state, JobState::kFailed);
  EXPECT_EQ(j->trainer_crashes, 2);
  EXPECT_NE(j->failure_reason.find("crashed the trainer"), std::string::npos) << j->failure_reason;
  m->StartRunner();
  EXPECT_EQ(m->WaitForTerminal(later, 5000)->state, JobState::kSucceeded);
  EXPECT_EQ(backend_->run_order, std::vector<std::string>{later});
}

TEST_F(JobManagerTest, DroppedEventsOrWarningsNeverEndPlainSucceeded) {
  auto m = Make(Options());
  auto dropped = m->Submit({"steps=2\ndrop=5", {}, ""});
  auto warned = m->Submit({"steps=1\nwarn=recorder FinishRun failed", {}, ""});
  auto clean = m->Submit({"steps=1", {}, ""});
  ASSERT_TRUE(dropped.ok() && warned.ok() && clean.ok());
  auto d = m->WaitForTerminal(dropped->id, 5000);
  EXPECT_EQ(d->state, JobState::kSucceededWithWarnings);
  ASSERT_FALSE(d->warnings.empty());
  EXPECT_EQ(d->warnings[0], "5 routing events dropped (not in the recorder)");
  EXPECT_TRUE(IsTerminal(d->state));
  auto w = m->WaitForTerminal(warned->id, 5000);
  EXPECT_EQ(w->state, JobState::kSucceededWithWarnings);
  EXPECT_EQ(w->warnings, std::vector<std::string>{"recorder FinishRun failed"});
  auto c = m->WaitForTerminal(clean->id, 5000);
  EXPECT_EQ(c->state, JobState::kSucceeded);
  EXPECT_TRUE(c->warnings.empty());
  // Persisted with the state.
  m.reset();
  auto again = Make(Options(false));
  EXPECT_EQ(again->Get(dropped->id)->state, JobState::kSucceededWithWarnings);
  EXPECT_EQ(again->Get(dropped->id)->warnings.size(), 1u);
  EXPECT_EQ(again->List(JobState::kSucceededWithWarnings).size(), 2u);
}

TEST_F(JobManagerTest, InstanceIdIsPersistentAndPrefixesRunIds) {
  std::string instance;
  {
    auto m = Make(Options(false));
    instance = m->instance_id();
    EXPECT_EQ(instance.size(), 16u);
    auto j = m->Submit({"steps=1\nevents=1", {}, ""});
    ASSERT_TRUE(j.ok());
    EXPECT_EQ(j->recorder_run_id, instance + "-job-000001");
  }
  EXPECT_EQ(Make(Options(false))->instance_id(), instance);
  auto other = Options(false);
  other.data_dir = dir_ + "/other";
  EXPECT_NE(Make(other)->instance_id(), instance);
  // A damaged id is a start-up error, not a silently new identity.
  std::ofstream(dir_ + "/data/instance_id") << "not hex!";
  EXPECT_FALSE(JobManager::Create(Options(false)).ok());
}

TEST_F(JobManagerTest, OversizedNameIsRefusedWithoutEchoingIt) {
  auto m = Make(Options(false));
  auto j = m->Submit({"steps=1", {}, std::string(50 << 20, 'n')});
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(j.status().message().find("name: 52428800 bytes"), std::string::npos);
  EXPECT_LT(j.status().message().size(), 200u);
  EXPECT_EQ(StoredRecords(), 0u);
  EXPECT_TRUE(m->Submit({"steps=1", {}, std::string(256, 'n')}).ok());
}

}  // namespace
}  // namespace monoroute::trainer

namespace monoroute::trainer {
namespace {

// Issue 23: a worker that dies is retried from its last checkpoint, each attempt's reason kept;
// the recorder run is finished and the job's acked count is the recorder's.
TEST_F(JobManagerTest, DeadWorkerIsRetriedAndTheRunFinished) {
  JobManagerOptions o = Options();
  o.worker_retry_backoff_ms = 1;
  auto m = Make(o);
  const JobRecord done = RunToEnd(m.get(), "steps=4\ndie=2\nevents=1\nrecorded=37");
  ASSERT_FALSE(done.id.empty());
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.failure_reason;
  EXPECT_EQ(done.worker_retries, 2);
  EXPECT_EQ(done.resumes, 2);
  ASSERT_EQ(done.attempt_failures.size(), 2u);
  EXPECT_NE(done.attempt_failures[0].find("attempt 1 (step 1)"), std::string::npos)
      << done.attempt_failures[0];
  EXPECT_NE(done.attempt_failures[1].find("killed by SIGKILL"), std::string::npos);
  EXPECT_EQ(done.events.events_acked, 37u);  // the recorder's count, not the attempts' sum
  std::lock_guard<std::mutex> l(backend_->mu);
  EXPECT_EQ(backend_->run_order.size(), 3u);
  EXPECT_EQ(backend_->finished_runs, std::vector<std::string>{done.id});
  // Kept across a restart.
  auto stored = JobStore::Create({dir_ + "/data/store"});
  ASSERT_TRUE(stored.ok());
  auto all = (*stored)->LoadAll();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().attempt_failures.size(), 2u);
  EXPECT_EQ(all->front().worker_retries, 2);
}

TEST_F(JobManagerTest, DeadWorkerBeyondRetriesFailsWithEveryReason) {
  JobManagerOptions o = Options();
  o.worker_retry_backoff_ms = 1;
  o.max_worker_retries = 1;
  auto m = Make(o);
  const JobRecord done = RunToEnd(m.get(), "steps=4\ndie=9\nevents=1\nrecorded=5");
  ASSERT_FALSE(done.id.empty());
  EXPECT_EQ(done.state, JobState::kFailed);
  EXPECT_NE(done.failure_reason.find("killed by SIGKILL"), std::string::npos)
      << done.failure_reason;
  EXPECT_NE(done.failure_reason.find("retried 1 time(s)"), std::string::npos)
      << done.failure_reason;
  EXPECT_EQ(done.attempt_failures.size(), 2u);
  EXPECT_EQ(done.events.events_acked, 5u);
  std::lock_guard<std::mutex> l(backend_->mu);
  EXPECT_EQ(backend_->run_order.size(), 2u);
  EXPECT_EQ(backend_->finished_runs.size(), 1u);  // a failed job's run is finished too
}

TEST_F(JobManagerTest, ErrorReportedByTheWorkerIsNotRetried) {
  auto m = Make(Options());
  const JobRecord done = RunToEnd(m.get(), "fail=checkpoint: No space left on device\nevents=1");
  ASSERT_FALSE(done.id.empty());
  EXPECT_EQ(done.state, JobState::kFailed);
  EXPECT_EQ(done.worker_retries, 0);
  EXPECT_TRUE(done.attempt_failures.empty());
  std::lock_guard<std::mutex> l(backend_->mu);
  EXPECT_EQ(backend_->run_order.size(), 1u);
  EXPECT_EQ(backend_->finished_runs.size(), 1u);
}

TEST_F(JobManagerTest, CancelDuringRetryBackoffCancels) {
  JobManagerOptions o = Options();
  o.worker_retry_backoff_ms = 600000;  // the cancel ends the wait
  auto m = Make(o);
  auto j = m->Submit({"die=1\nevents=1", {}, ""});
  ASSERT_TRUE(j.ok()) << j.status();
  // Wait until the first attempt died (its failure is recorded before the backoff).
  for (int i = 0; i < 2000; ++i) {
    auto g = m->Get(j->id);
    if (g.ok() && !g->attempt_failures.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(m->Cancel(j->id).ok());
  auto done = m->WaitForTerminal(j->id, 10000);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, JobState::kCancelled);
  std::lock_guard<std::mutex> l(backend_->mu);
  EXPECT_EQ(backend_->run_order.size(), 1u);
}

TEST_F(JobManagerTest, UnreachableRecorderAtTheEndIsAWarning) {
  auto m = Make(Options());
  const JobRecord done = RunToEnd(m.get(), "events=1\nfinish_fail=1");
  ASSERT_FALSE(done.id.empty());
  EXPECT_EQ(done.state, JobState::kSucceededWithWarnings);
  ASSERT_FALSE(done.warnings.empty());
  EXPECT_NE(done.warnings.back().find("FinishRun failed"), std::string::npos);
}

}  // namespace
}  // namespace monoroute::trainer

namespace monoroute::trainer {
namespace {

// Issue 22: ids stay contiguous whatever is refused in between (they skipped 000003 -> 000009).
TEST_F(JobManagerTest, RefusedSubmissionsTakeNoId) {
  auto m = Make(Options(false));
  ASSERT_EQ(m->Submit({"steps=1", {}, ""})->id, "job-000001");
  EXPECT_FALSE(m->Submit({"invalid=optim.lr: must be > 0", {}, ""}).ok());
  EXPECT_FALSE(m->Submit({"steps=1", {}, std::string(300, 'n')}).ok());
  EXPECT_FALSE(m->Submit({"path.data.train_path=relative", {}, ""}).ok());
  EXPECT_EQ(m->Submit({"steps=1", {}, ""})->id, "job-000002");
}

// Issue 22: the spec's `name` is kept (and shown by ListJobs) unless the request names the job.
TEST_F(JobManagerTest, SpecNameIsKeptUnlessTheRequestNamesTheJob) {
  auto m = Make(Options(false));
  auto a = m->Submit({"steps=1\nname=tiny-routed", {}, ""});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->name, "tiny-routed");
  auto b = m->Submit({"steps=1\nname=tiny-routed", {}, "override"});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->name, "override");
  EXPECT_EQ(m->List(std::nullopt).front().name, "tiny-routed");
}

// Two unfinished jobs never share an output dir (the second would silently resume the first).
TEST_F(JobManagerTest, OutputDirOfAnUnfinishedJobIsRefused) {
  auto m = Make(Options(false));
  const std::string out = "output_dir=" + dir_ + "/shared";
  auto a = m->Submit({"steps=1\n" + out, {}, ""});
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = m->Submit({"steps=1\n" + out, {}, ""});
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(b.status().message().find(a->id), std::string::npos) << b.status();
  ASSERT_TRUE(m->Cancel(a->id).ok());
  EXPECT_TRUE(m->Submit({"steps=1\n" + out, {}, ""}).ok());
}

// Issue 22: GetJobMetrics returns the step history (metrics.jsonl), in pages.
TEST_F(JobManagerTest, MetricsHistoryInPages) {
  auto m = Make(Options());
  auto j = m->Submit({"steps=5", {}, ""});
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_EQ(m->WaitForTerminal(j->id, 10000)->state, JobState::kSucceeded);
  auto all = m->GetMetrics(j->id, 0, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->steps.size(), 5u);
  EXPECT_FALSE(all->truncated);
  EXPECT_DOUBLE_EQ(all->steps[4].lm_loss, 1.0);
  auto page = m->GetMetrics(j->id, 0, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->steps.size(), 2u);
  EXPECT_TRUE(page->truncated);
  auto next = m->GetMetrics(j->id, page->steps.back().step, 2);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->steps.front().step, 3);
  EXPECT_EQ(m->GetMetrics(j->id, 0, 1000000).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m->GetMetrics("job-999999", 0, 0).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace monoroute::trainer
