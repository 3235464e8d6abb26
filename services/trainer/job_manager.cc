// Job manager: submission, persistence, queue, runner threads, watchers, cancel, recovery.
#include "services/trainer/job_manager.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/file_util.h"
#include "common/base/path_policy.h"
#include "common/base/status_macros.h"
#include "common/base/utf8.h"

namespace monoroute::trainer {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Bounds a message kept in a job record (failure reasons, warnings).
std::string Bounded(std::string s, size_t max) {
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

constexpr size_t kMaxFailureReasonBytes = 4096;
constexpr size_t kMaxWarningBytes = 1024;
constexpr size_t kMaxWarnings = 16;

// The wire carries spec, overrides and name as bytes: malformed UTF-8 is refused here, naming the
// field and the offset (a proto string field would fail the whole call without a message).
absl::Status CheckUtf8(const std::string& field, absl::string_view text) {
  std::optional<size_t> bad = FirstInvalidUtf8(text);
  if (!bad.has_value()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s: not valid UTF-8 (byte 0x%02x at offset %d)", field,
      static_cast<int>(static_cast<unsigned char>(text[*bad])), static_cast<int64_t>(*bad)));
}

}  // namespace

// Bridges a running job's callbacks to the manager. One per run attempt.
class JobManager::Context : public JobContext {
 public:
  Context(JobManager* m, std::string id, JobEventStats base)
      : m_(m), id_(std::move(id)), base_(base) {}

  void OnStart(int64_t start_step, int64_t total_steps) override {
    m_->Notify(JobUpdateKind::kStep, Update([&](JobRecord& j) {
                 j.progress.step = start_step;
                 j.progress.total_steps = total_steps;
                 // The first attempt tells where the job began (the attempts after it resume their
                 // own).
                 if (j.resumes == 0) j.resumed_from_step = start_step;
               }));
  }

  void OnPhase(const engine::PhaseReport& p) override {
    m_->Notify(JobUpdateKind::kStep, Update([&](JobRecord& j) {
                 const bool changed = j.phase.phase != p.phase;
                 j.phase = p;
                 if (changed) m_->PersistLocked(j);
               }));
  }

  void OnProgress(const engine::StepReport& p) override {
    JobRecord copy = Update([&](JobRecord& j) {
      j.progress = p;
      int64_t now = NowMs();
      int64_t& last = m_->last_persist_ms_[id_];
      if (now - last >= m_->options_.persist_interval_ms) {
        last = now;
        m_->PersistLocked(j);
      }
    });
    if (m_->metrics_) m_->metrics_->OnProgress(id_, p);
    m_->Notify(JobUpdateKind::kStep, copy);
  }

  void OnEval(const engine::EvalReport& e) override {
    JobRecord copy = Update([&](JobRecord& j) {
      j.evals.push_back(e);
      m_->PersistLocked(j);
    });
    if (m_->metrics_) m_->metrics_->OnEval(id_, e);
    m_->Notify(JobUpdateKind::kEval, copy);
  }

  void OnCheckpoint(int64_t step, const std::string& dir, double seconds) override {
    JobRecord copy = Update([&](JobRecord& j) {
      j.checkpoint_dir = dir;
      if (step > j.progress.step) j.progress.step = step;
      m_->PersistLocked(j);
    });
    if (m_->metrics_) m_->metrics_->OnCheckpoint(seconds);
    m_->Notify(JobUpdateKind::kCheckpoint, copy);
  }

  void OnWarning(const std::string& message) override {
    const std::string w = Bounded(message, kMaxWarningBytes);
    bool added = false;
    JobRecord copy = Update([&](JobRecord& j) {
      if (j.warnings.size() >= kMaxWarnings ||
          std::find(j.warnings.begin(), j.warnings.end(), w) != j.warnings.end()) {
        return;
      }
      j.warnings.push_back(w);
      m_->PersistLocked(j);
      added = true;
    });
    if (!added) return;
    fprintf(stderr, "monoroute-trainer: %s: warning: %s\n", id_.c_str(), message.c_str());
    m_->Notify(JobUpdateKind::kStep, copy);
  }

  void OnWorker(int pid) override {
    m_->Notify(JobUpdateKind::kStep, Update([&](JobRecord& j) {
                 j.worker_pid = pid;
                 m_->PersistLocked(j);
               }));
  }

  void OnEventStats(const JobEventStats& s) override {
    JobEventStats total = base_;
    total += s;
    {
      std::lock_guard<std::mutex> l(m_->mu_);
      m_->jobs_[id_].events = total;
    }
    if (m_->metrics_) m_->metrics_->OnEventStats(id_, total);
  }

  bool ShouldStop() override {
    std::lock_guard<std::mutex> l(m_->mu_);
    return m_->shutdown_ || m_->jobs_[id_].cancel_requested;
  }

 private:
  // Applies `change` to this job's record under the manager's lock; returns a copy of the result
  // (to notify watchers outside the lock).
  template <class F>
  JobRecord Update(const F& change) {
    std::lock_guard<std::mutex> l(m_->mu_);
    JobRecord& j = m_->jobs_[id_];
    change(j);
    return j;
  }

  JobManager* m_;
  std::string id_;
  JobEventStats base_;
};

JobManager::JobManager(const JobManagerOptions& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Create(const JobManagerOptions& options) {
  if (options.backend == nullptr) return absl::InvalidArgumentError("job manager: no backend");
  if (options.data_dir.empty()) return absl::InvalidArgumentError("--data-dir: must be set");
  if (options.max_job_retries < 0) {
    return absl::InvalidArgumentError("--max-job-retries: must be >= 0");
  }
  if (options.max_worker_retries < 0) {
    return absl::InvalidArgumentError("--max-worker-retries: must be >= 0");
  }
  if (options.worker_retry_backoff_ms < 0) {
    return absl::InvalidArgumentError("--worker-retry-backoff-ms: must be >= 0");
  }
  if (options.metrics_job_linger_ms < 0) {
    return absl::InvalidArgumentError("metrics_job_linger_ms: must be >= 0");
  }
  std::unique_ptr<JobManager> m(new JobManager(options));
  RETURN_IF_ERROR(m->LoadInstanceId());
  ASSIGN_OR_RETURN(
      m->store_, JobStore::Create({(std::filesystem::path(options.data_dir) / "store").string()}));
  if (options.registry != nullptr)
    m->metrics_ = std::make_unique<TrainerMetrics>(*options.registry);
  RETURN_IF_ERROR(m->Load());
  if (options.start_runner) m->StartRunner();
  return m;
}

absl::Status JobManager::LoadInstanceId() {
  const std::string path = (std::filesystem::path(options_.data_dir) / "instance_id").string();
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    std::string id(absl::StripAsciiWhitespace(text));
    bool ok = id.size() >= 8 && id.size() <= 64;
    for (char c : id) ok = ok && absl::ascii_isxdigit(static_cast<unsigned char>(c));
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not a trainer instance id (8-64 hex digits)"));
    }
    instance_id_ = id;
    return absl::OkStatus();
  }
  std::random_device rd;  // the kernel's entropy
  const uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  instance_id_ = absl::StrFormat("%016x", v);
  std::filesystem::create_directories(options_.data_dir, ec);
  return WriteFileAtomic(path, instance_id_ + "\n");
}

absl::Status JobManager::Load() {
  ASSIGN_OR_RETURN(std::vector<JobRecord> all, store_->LoadAll());
  std::lock_guard<std::mutex> l(mu_);
  for (JobRecord& j : all) {
    if (j.seq >= next_seq_) next_seq_ = j.seq + 1;
    j.worker_pid = 0;  // workers die with their trainer
    if (j.state == JobState::kRunning) {
      if (j.cancel_requested) {
        j.state = JobState::kCancelled;
        j.finished_unix_ms = NowMs();
        pending_finish_.push_back(j.id);
      } else if (!j.stopped_by_shutdown && ++j.trainer_crashes > options_.max_job_retries) {
        // The trainer died while this job ran, more often than it may be retried: whatever the
        // cause, running it again is not safe for the queue behind it.
        j.state = JobState::kFailed;
        j.failure_reason = absl::StrCat("crashed the trainer: the trainer died ", j.trainer_crashes,
                                        " time(s) while this job was RUNNING (--max-job-retries ",
                                        options_.max_job_retries, ")");
        j.finished_unix_ms = NowMs();
        pending_finish_.push_back(j.id);
      } else {
        ++j.resumes;  // resumes from its last checkpoint when the runner picks it up
      }
      j.stopped_by_shutdown = false;
      RETURN_IF_ERROR(store_->Put(j));
    }
    jobs_[j.id] = std::move(j);
  }
  UpdateStateGaugeLocked();
  return absl::OkStatus();
}

JobManager::~JobManager() { Shutdown(); }

void JobManager::StartRunner() {
  std::lock_guard<std::mutex> l(mu_);
  if (runner_started_ || shutdown_) return;
  runner_started_ = true;
  dispatcher_ = std::thread([this] { DispatchLoop(); });
}

void JobManager::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shutdown_) return;
    shutdown_ = true;
    // Recorded before the workers are stopped: even if this process is killed during the grace
    // period, the next start treats these jobs as stopped, not as having crashed the trainer.
    for (const std::string& id : active_) {
      JobRecord& j = jobs_[id];
      j.stopped_by_shutdown = true;
      PersistLocked(j);
    }
  }
  cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> l(mu_);
    threads.swap(job_threads_);
  }
  for (auto& t : threads) t.join();
}

void JobManager::PersistLocked(const JobRecord& job) {
  absl::Status s = store_->Put(job);
  if (!s.ok()) {
    // The in-memory state stays authoritative; the next write retries.
    fprintf(stderr, "monoroute-trainer: persisting %s: %s\n", job.id.c_str(),
            std::string(s.message()).c_str());
  }
}

void JobManager::UpdateStateGaugeLocked() {
  if (!metrics_) return;
  metrics_->RemoveEnded(std::chrono::milliseconds(options_.metrics_job_linger_ms));
  std::map<JobState, int> counts;
  for (const auto& [id, j] : jobs_) counts[j.state]++;
  metrics_->SetJobsByState(counts);
}

void JobManager::Notify(JobUpdateKind kind, const JobRecord& job) {
  std::lock_guard<std::mutex> l(sub_mu_);
  for (auto& [handle, sub] : subscribers_) {
    if (sub.first == job.id) sub.second(kind, job);
  }
}

absl::StatusOr<JobRecord> JobManager::Submit(const SubmitRequest& request) {
  if (request.spec_yaml.empty()) return absl::InvalidArgumentError("spec_yaml: empty job spec");
  RETURN_IF_ERROR(CheckUtf8("spec_yaml", request.spec_yaml));
  for (size_t i = 0; i < request.overrides.size(); ++i) {
    RETURN_IF_ERROR(CheckUtf8(absl::StrCat("overrides[", i, "]"), request.overrides[i]));
  }
  RETURN_IF_ERROR(CheckUtf8("name", request.name));
  if (request.name.size() > kMaxSubmitNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name: ", request.name.size(), " bytes, more than the limit of ", kMaxSubmitNameBytes));
  }
  // One submission at a time: the id is taken only by a job that is stored, so ids stay
  // contiguous whatever is refused in between.
  std::lock_guard<std::mutex> submit_lock(submit_mu_);
  uint64_t seq;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shutdown_) return absl::UnavailableError("trainer is shutting down");
    seq = next_seq_;
  }
  const std::string id = absl::StrFormat("job-%06d", seq);
  const std::string default_out = (std::filesystem::path(options_.data_dir) / "jobs" / id).string();
  ASSIGN_OR_RETURN(PreparedSpec prepared,
                   options_.backend->Prepare(request.spec_yaml, request.overrides, default_out,
                                             options_.default_device));
  for (const SpecPath& p : prepared.paths) {
    RETURN_IF_ERROR(CheckPathAllowed(p.field, p.path, options_.allowed_roots));
  }
  RETURN_IF_ERROR(CheckOutputDirFree(prepared.output_dir));
  RETURN_IF_ERROR(options_.backend->CheckFiles(prepared));
  JobRecord job;
  job.id = id;
  job.seq = seq;
  // The request's name, else the spec's own `name`.
  job.name = request.name.empty() ? prepared.name : request.name;
  job.state = JobState::kQueued;
  job.spec_yaml = prepared.spec_yaml;
  job.kind = prepared.kind;
  job.output_dir = prepared.output_dir;
  job.device = prepared.device;
  job.created_unix_ms = NowMs();
  if (prepared.records_events) job.recorder_run_id = absl::StrCat(instance_id_, "-", id);
  {
    std::lock_guard<std::mutex> l(mu_);
    RETURN_IF_ERROR(store_->Put(job));
    jobs_[id] = job;
    next_seq_ = std::max(next_seq_, seq + 1);
    UpdateStateGaugeLocked();
  }
  cv_.notify_all();
  return job;
}

absl::Status JobManager::CheckOutputDirFree(const std::string& output_dir) const {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [id, j] : jobs_) {
    if (!IsTerminal(j.state) && j.output_dir == output_dir) {
      return absl::FailedPreconditionError(
          absl::StrCat("output_dir: ", output_dir, " is the output of ", id, " (",
                       JobStateName(j.state), "); two jobs never share an output directory"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<JobRecord> JobManager::Get(const std::string& id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job '", id, "' not found"));
  return it->second;
}

absl::StatusOr<JobMetricsPage> JobManager::GetMetrics(const std::string& id, int64_t since_step,
                                                      int max_points) const {
  ASSIGN_OR_RETURN(JobRecord job, Get(id));
  return ReadJobMetrics((std::filesystem::path(job.output_dir) / "metrics.jsonl").string(),
                        since_step, max_points);
}

absl::StatusOr<std::string> JobManager::LogPath(const std::string& id) const {
  ASSIGN_OR_RETURN(JobRecord job, Get(id));
  return options_.backend->LogPath(job);
}

std::vector<JobRecord> JobManager::List(std::optional<JobState> state) const {
  std::vector<JobRecord> out;
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [id, j] : jobs_) {
    if (!state.has_value() || j.state == *state) out.push_back(j);
  }
  std::sort(out.begin(), out.end(),
            [](const JobRecord& a, const JobRecord& b) { return a.seq < b.seq; });
  return out;
}

absl::StatusOr<JobRecord> JobManager::Cancel(const std::string& id) {
  JobRecord copy;
  JobUpdateKind kind = JobUpdateKind::kState;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job '", id, "' not found"));
    JobRecord& j = it->second;
    if (IsTerminal(j.state)) {
      return absl::FailedPreconditionError(
          absl::StrCat("job '", id, "' already finished (", JobStateName(j.state), ")"));
    }
    j.cancel_requested = true;
    if (j.state == JobState::kQueued || active_.count(id) == 0) {
      if (j.state == JobState::kRunning) pending_finish_.push_back(id);  // interrupted: has a run
      j.state = JobState::kCancelled;
      j.finished_unix_ms = NowMs();
    } else {
      kind = JobUpdateKind::kStep;  // the runner reports CANCELLED when the job stops
    }
    PersistLocked(j);
    UpdateStateGaugeLocked();
    copy = j;
  }
  cv_.notify_all();
  Notify(kind, copy);
  return copy;
}

absl::StatusOr<std::pair<uint64_t, JobRecord>> JobManager::Subscribe(const std::string& id,
                                                                     JobUpdateCallback callback) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job '", id, "' not found"));
  std::lock_guard<std::mutex> s(sub_mu_);
  uint64_t handle = next_sub_++;
  subscribers_[handle] = {id, std::move(callback)};
  return std::make_pair(handle, it->second);
}

void JobManager::Unsubscribe(uint64_t handle) {
  std::lock_guard<std::mutex> s(sub_mu_);
  subscribers_.erase(handle);
}

absl::StatusOr<JobRecord> JobManager::WaitForTerminal(const std::string& id,
                                                      int64_t timeout_ms) const {
  std::unique_lock<std::mutex> l(mu_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job '", id, "' not found"));
    if (IsTerminal(it->second.state)) return it->second;
    if (cv_.wait_until(l, deadline) == std::cv_status::timeout) return jobs_.at(id);
  }
}

void JobManager::DispatchLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!shutdown_) {
    if (!pending_finish_.empty()) {
      std::vector<std::string> ids;
      ids.swap(pending_finish_);
      l.unlock();
      for (const std::string& id : ids) FinishRecording(id);
      l.lock();
      continue;
    }
    // Jobs interrupted by a restart (still RUNNING, no live thread) go first, then the queue.
    const JobRecord* pick = nullptr;
    for (int pass = 0; pass < 2 && pick == nullptr; ++pass) {
      const JobRecord* best = nullptr;
      for (const auto& [id, j] : jobs_) {
        bool candidate = pass == 0 ? (j.state == JobState::kRunning && active_.count(id) == 0)
                                   : j.state == JobState::kQueued;
        if (!candidate || busy_devices_.count(j.device)) continue;
        if (best == nullptr || j.seq < best->seq) best = &j;
      }
      pick = best;
    }
    if (pick == nullptr) {
      cv_.wait(l);
      continue;
    }
    JobRecord& j = jobs_[pick->id];
    busy_devices_.insert(j.device);
    active_.insert(j.id);
    j.state = JobState::kRunning;
    j.stopped_by_shutdown = false;
    if (j.started_unix_ms == 0) j.started_unix_ms = NowMs();
    PersistLocked(j);
    UpdateStateGaugeLocked();
    JobRecord copy = j;
    job_threads_.emplace_back([this, id = j.id] { RunJob(id); });
    l.unlock();
    Notify(JobUpdateKind::kState, copy);
    l.lock();
  }
}

void JobManager::RunJob(std::string id) {
  absl::StatusOr<RunOutcome> outcome;
  while (true) {
    JobRecord snapshot;
    {
      std::lock_guard<std::mutex> l(mu_);
      snapshot = jobs_[id];
    }
    Context ctx(this, id, snapshot.events);
    outcome = options_.backend->Run(snapshot, &ctx);
    if (outcome.ok() || !IsWorkerDied(outcome.status())) break;
    if (!RetryAfterWorkerDeath(id, outcome.status())) break;
  }
  FinishJob(id, outcome);
}

bool JobManager::RetryAfterWorkerDeath(const std::string& id, const absl::Status& error) {
  JobRecord copy;
  int64_t backoff_ms = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    JobRecord& j = jobs_[id];
    j.worker_pid = 0;
    if (j.attempt_failures.size() < kMaxAttemptFailures) {
      j.attempt_failures.push_back(Bounded(absl::StrCat("attempt ", j.worker_retries + 1, " (step ",
                                                        j.progress.step, "): ", error.message()),
                                           kMaxWarningBytes));
    }
    if (shutdown_ || j.cancel_requested || j.worker_retries >= options_.max_worker_retries) {
      PersistLocked(j);
      return false;
    }
    ++j.worker_retries;
    ++j.resumes;  // the next attempt resumes from the last checkpoint
    PersistLocked(j);
    copy = j;
    backoff_ms = options_.worker_retry_backoff_ms;
    for (int i = 1; i < j.worker_retries && backoff_ms < 60000; ++i) backoff_ms *= 2;
    backoff_ms = std::min<int64_t>(backoff_ms, 60000);
  }
  fprintf(stderr, "monoroute-trainer: %s: worker died (%s); retry %d of %d in %lld ms\n",
          id.c_str(), std::string(error.message()).substr(0, 512).c_str(), copy.worker_retries,
          options_.max_worker_retries, static_cast<long long>(backoff_ms));
  Notify(JobUpdateKind::kStep, copy);
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, std::chrono::milliseconds(backoff_ms),
               [&] { return shutdown_ || jobs_[id].cancel_requested; });
  return !shutdown_ && !jobs_[id].cancel_requested;
}

void JobManager::AddWarningLocked(JobRecord& j, const std::string& message) {
  const std::string w = Bounded(message, kMaxWarningBytes);
  if (j.warnings.size() >= kMaxWarnings ||
      std::find(j.warnings.begin(), j.warnings.end(), w) != j.warnings.end()) {
    return;
  }
  j.warnings.push_back(w);
}

void JobManager::FinishRecording(const std::string& id) {
  JobRecord copy;
  {
    std::lock_guard<std::mutex> l(mu_);
    copy = jobs_[id];
  }
  if (copy.recorder_run_id.empty() || copy.started_unix_ms == 0) return;
  absl::StatusOr<std::optional<uint64_t>> recorded = options_.backend->FinishRecording(copy);
  std::lock_guard<std::mutex> l(mu_);
  JobRecord& j = jobs_[id];
  if (!recorded.ok()) {
    AddWarningLocked(j, absl::StrCat("recorder FinishRun failed (the run stays open): ",
                                     recorded.status().message()));
  } else if (recorded->has_value()) {
    // The recorder's own count: exact whatever the attempts reported before they ended.
    j.events.events_acked = **recorded;
  }
  PersistLocked(j);
}

void JobManager::FinishJob(const std::string& id, const absl::StatusOr<RunOutcome>& outcome) {
  const bool completed = outcome.ok() && !outcome->stopped_early;
  bool terminal;
  {
    std::lock_guard<std::mutex> l(mu_);
    terminal = completed || jobs_[id].cancel_requested || !shutdown_;
  }
  // Every job that ends, in any state, has its recorder run finished (before the state changes,
  // so a watcher that sees the terminal state sees the final event count).
  if (terminal) FinishRecording(id);
  JobRecord copy;
  {
    std::lock_guard<std::mutex> l(mu_);
    JobRecord& j = jobs_[id];
    j.worker_pid = 0;
    if (completed) {
      // A job that lost routing events (in any attempt) never ends plain SUCCEEDED.
      if (j.events.events_dropped > 0) {
        const std::string w =
            absl::StrCat(j.events.events_dropped, " routing events dropped (not in the recorder)");
        if (std::find(j.warnings.begin(), j.warnings.end(), w) == j.warnings.end()) {
          j.warnings.insert(j.warnings.begin(), w);
        }
      }
      j.state = j.warnings.empty() ? JobState::kSucceeded : JobState::kSucceededWithWarnings;
      j.progress.step = std::max(j.progress.step, outcome->final_step);
      j.final_val_loss = outcome->final_val_loss;
      if (!outcome->checkpoint_dir.empty()) j.checkpoint_dir = outcome->checkpoint_dir;
    } else if (j.cancel_requested) {
      j.state = JobState::kCancelled;
    } else if (!terminal) {
      j.stopped_by_shutdown = true;  // stays RUNNING on disk: resumes on the next start
    } else if (!outcome.ok()) {
      j.state = JobState::kFailed;
      std::string reason(outcome.status().message());
      if (IsWorkerDied(outcome.status()) && j.worker_retries > 0) {
        absl::StrAppend(&reason, " (retried ", j.worker_retries,
                        " time(s) from the last checkpoint; --max-worker-retries ",
                        options_.max_worker_retries, ")");
      }
      j.failure_reason = Bounded(reason, kMaxFailureReasonBytes);
    } else {
      j.state = JobState::kFailed;
      j.failure_reason = "stopped before the last step without a cancel request";
    }
    if (terminal) j.finished_unix_ms = NowMs();
    if (terminal && metrics_) metrics_->OnJobEnded(id);
    PersistLocked(j);
    busy_devices_.erase(j.device);
    active_.erase(id);
    UpdateStateGaugeLocked();
    copy = j;
  }
  // Watchers hear of the end before WaitForTerminal's callers wake.
  if (terminal) Notify(JobUpdateKind::kState, copy);
  cv_.notify_all();
}

}  // namespace monoroute::trainer
