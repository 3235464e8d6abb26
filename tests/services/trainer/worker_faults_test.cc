// Fault tests of the trainer's jobs (issue 23): the job manager with the real engine backend (jobs
// in real `monoroute-trainer --worker` processes, a tiny GPT-Neo) and an in-process recorder.
// - A worker SIGKILLed mid-step and one SIGKILLed mid-checkpoint (the kill sent when inotify sees
//   the checkpoint's staging directory appear) are retried from the last checkpoint: the job
//   SUCCEEDS, the recorder holds exactly the events of the same job run without a fault (every
//   event once), the job's acked count equals the recorder's, the run is finished and the
//   attempt's reason is kept.
// - An output dir on a small tmpfs (mounted by the test; skipped where it cannot mount) fails the
//   job with a reason naming ENOSPC and the path, not a crash, and nothing else dies.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/trainer/engine_backend.h"
#include "services/trainer/job_manager.h"
#include "tests/services/recorder/recorder_grpc_test_util.h"
#include "tests/testing/stories.h"
#include "tests/testing/temp_files.h"

namespace monoroute::trainer {
namespace {

namespace fs = std::filesystem;

class WorkerFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    testing::WriteText(tmp_.Sub("train.txt"), testing::Stories(90));
    recorder_ = std::make_unique<recorder::testing::InProcessRecorder>(tmp_.Sub("recorder"));
    ASSERT_TRUE(recorder_->Start());
  }

  std::unique_ptr<JobManager> MakeManager() {
    EngineBackendOptions bo;
    bo.worker_binary = std::string(MONOROUTE_BIN_DIR) + "/monoroute-trainer";
    bo.work_dir = tmp_.Sub("data/work");
    bo.job_memory_limit_mb = 4096;
    bo.max_job_threads = 1;
    bo.stop_grace_ms = 20000;
    bo.upload.recorder_address = recorder_->address();
    auto backend = EngineBackend::Create(bo);
    EXPECT_TRUE(backend.ok()) << backend.status();
    if (!backend.ok()) return nullptr;
    JobManagerOptions mo;
    mo.data_dir = tmp_.Sub("data");
    mo.backend = std::shared_ptr<JobBackend>(std::move(*backend));
    mo.start_runner = false;
    mo.persist_interval_ms = 0;
    mo.worker_retry_backoff_ms = 10;
    auto m = JobManager::Create(mo);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? std::move(*m) : nullptr;
  }

  // 16 steps, a checkpoint every 4, every step's routing recorded.
  std::string Spec() const {
    return "kind: pretrain\n"
           "model: {hidden_size: 16, num_layers: 2, num_heads: 2, max_position_embeddings: 64}\n"
           "routing: {enabled: true, num_pathways: 4, top_k: 2, router_hidden: 8}\n"
           "data: {train_path: " +
           tmp_.Sub("train.txt") +
           ", seq_len: 16, valid_fraction: 0.2, cache_dir: " + tmp_.Sub("cache") +
           "}\n"
           "optim: {max_steps: 16, warmup_steps: 1, batch_size: 2}\n"
           "record: {sample_rate: 1}\n"
           "eval_every: 0\neval_batches: 2\ncheckpoint_every: 4\nlog_every: 1\nthreads: 1\n";
  }

  JobRecord Submit(JobManager& m, const std::vector<std::string>& overrides = {}) {
    auto j = m.Submit({Spec(), overrides, ""});
    EXPECT_TRUE(j.ok()) << j.status();
    return j.ok() ? *j : JobRecord{};
  }

  // Asserts `job` SUCCEEDED after one worker retry with every event of `reference` once.
  void ExpectRecoveredExactlyOnce(const JobRecord& job, const JobRecord& reference) {
    EXPECT_EQ(job.state, JobState::kSucceeded) << job.failure_reason;
    EXPECT_EQ(job.worker_retries, 1);
    ASSERT_EQ(job.attempt_failures.size(), 1u);
    EXPECT_NE(job.attempt_failures[0].find("SIGKILL"), std::string::npos)
        << job.attempt_failures[0];
    EXPECT_EQ(job.progress.step, 16);
    auto a = recorder_->store()->GetRun(reference.recorder_run_id);
    auto b = recorder_->store()->GetRun(job.recorder_run_id);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_GT(a->events, 0u);
    EXPECT_EQ(b->events, a->events);                // nothing lost, nothing twice
    EXPECT_EQ(job.events.events_acked, b->events);  // the job's count is the recorder's
    EXPECT_EQ(reference.events.events_acked, a->events);
    EXPECT_TRUE(b->finished);
    EXPECT_NEAR(job.final_val_loss, reference.final_val_loss, 1e-5);  // resumed exactly
  }

  testing::TempDir tmp_{"trainer_faults"};
  std::unique_ptr<recorder::testing::InProcessRecorder> recorder_;
};

TEST_F(WorkerFaultsTest, WorkerKilledMidStepIsRetriedWithEveryEventOnce) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  const JobRecord reference = Submit(*m);
  const JobRecord victim = Submit(*m);
  std::atomic<int> killed_pid{0};
  auto sub = m->Subscribe(victim.id, [&](JobUpdateKind, const JobRecord& j) {
    // Step 6: two steps after the checkpoint of step 4, before the one of step 8.
    if (j.progress.step == 6 && j.worker_pid > 0 && killed_pid.load() == 0) {
      killed_pid = j.worker_pid;
      ::kill(j.worker_pid, SIGKILL);
    }
  });
  ASSERT_TRUE(sub.ok());
  m->StartRunner();
  auto ref = m->WaitForTerminal(reference.id, 300000);
  auto done = m->WaitForTerminal(victim.id, 300000);
  m->Unsubscribe(sub->first);
  ASSERT_TRUE(ref.ok() && done.ok());
  ASSERT_EQ(ref->state, JobState::kSucceeded) << ref->failure_reason;
  ASSERT_GT(killed_pid.load(), 0) << "the worker was never seen at step 6";
  ExpectRecoveredExactlyOnce(*done, *ref);
  EXPECT_NE(done->attempt_failures[0].find(absl::StrCat("pid ", killed_pid.load())),
            std::string::npos)
      << done->attempt_failures[0];
}

TEST_F(WorkerFaultsTest, WorkerKilledMidCheckpointIsRetriedWithEveryEventOnce) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  const JobRecord reference = Submit(*m);
  const JobRecord victim = Submit(*m);
  const std::string root = victim.output_dir + "/checkpoints";
  fs::create_directories(root);
  const int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(ino, 0) << std::strerror(errno);
  ASSERT_GE(inotify_add_watch(ino, root.c_str(), IN_CREATE), 0) << std::strerror(errno);
  std::atomic<bool> stop{false};
  std::atomic<int> killed_pid{0};
  std::atomic<bool> final_dir_existed{false};
  // Kills the worker as soon as the staging directory of the step-8 checkpoint appears.
  std::thread watcher([&] {
    alignas(inotify_event) char buf[4096];
    while (!stop.load() && killed_pid.load() == 0) {
      pollfd p{ino, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::read(ino, buf, sizeof(buf));
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->len == 0 || std::strncmp(ev->name, ".tmp-step-00000008", 18) != 0) continue;
        auto j = m->Get(victim.id);
        if (!j.ok() || j->worker_pid <= 0) continue;
        ::kill(j->worker_pid, SIGKILL);
        killed_pid = j->worker_pid;
        final_dir_existed = fs::exists(root + "/step-00000008");
        break;
      }
    }
  });
  m->StartRunner();
  auto ref = m->WaitForTerminal(reference.id, 300000);
  auto done = m->WaitForTerminal(victim.id, 300000);
  stop = true;
  watcher.join();
  ::close(ino);
  ASSERT_TRUE(ref.ok() && done.ok());
  ASSERT_EQ(ref->state, JobState::kSucceeded) << ref->failure_reason;
  ASSERT_GT(killed_pid.load(), 0) << "the step-8 checkpoint was never seen being written";
  EXPECT_FALSE(final_dir_existed.load()) << "the kill came after the checkpoint was complete";
  ExpectRecoveredExactlyOnce(*done, *ref);
  // The retry resumed from the step-4 checkpoint and removed the partial one.
  for (const auto& e : fs::directory_iterator(root)) {
    EXPECT_NE(e.path().filename().string().rfind(".tmp-", 0), 0u) << e.path();
  }
}

// A tmpfs of `size` mounted on a fresh directory; unmounted on destruction. path() is "" (with
// the reason in error()) where this process may not mount.
class SmallTmpfs {
 public:
  SmallTmpfs(const std::string& dir, const std::string& size) {
    fs::create_directories(dir);
    const std::string opts = "size=" + size;
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      error_ = std::strerror(errno);
      return;
    }
    path_ = dir;
  }
  ~SmallTmpfs() {
    if (!path_.empty()) ::umount2(path_.c_str(), MNT_DETACH);
  }
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_, error_;
};

// 1m: model.safetensors does not fit; 6m: it does, trainer_state.pt (the AdamW moments, through
// LibTorch's serializer, whose file writer used to abort the worker) does not.
TEST_F(WorkerFaultsTest, FullDiskFailsTheJobNamingEnospcAndThePath) {
  for (const char* size : {"1m", "6m"}) {
    SCOPED_TRACE(size);
    SmallTmpfs disk(tmp_.Sub(absl::StrCat("small-", size)), size);
    if (disk.path().empty()) {
      GTEST_SKIP() << "cannot mount a tmpfs here (" << disk.error()
                   << "): needs root or CAP_SYS_ADMIN";
    }
    auto m = MakeManager();
    ASSERT_NE(m, nullptr);
    const JobRecord job = Submit(*m, {"output_dir=" + disk.path() + "/out"});
    m->StartRunner();
    auto done = m->WaitForTerminal(job.id, 300000);
    ASSERT_TRUE(done.ok());
    EXPECT_EQ(done->state, JobState::kFailed);
    const std::string& why = done->failure_reason;
    EXPECT_NE(why.find("No space left on device"), std::string::npos) << why;
    EXPECT_NE(why.find(disk.path() + "/out/checkpoints"), std::string::npos) << why;
    EXPECT_NE(why.find("free of"), std::string::npos) << why;
    // Reported by the worker (not a crash), so not retried.
    EXPECT_EQ(why.find("job worker (pid"), std::string::npos) << why;
    EXPECT_EQ(why.find("frame #"), std::string::npos) << why;
    EXPECT_EQ(done->worker_retries, 0);
    // The recorder still answers, and the failed job's run is finished.
    auto run = recorder_->store()->GetRun(done->recorder_run_id);
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_TRUE(run->finished);
    EXPECT_EQ(done->events.events_acked, run->events);
    m->Shutdown();
  }
}

}  // namespace
}  // namespace monoroute::trainer
