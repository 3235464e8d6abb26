// The trainer's core: accepts jobs (auth, full validation, allowed roots), persists them, runs
// them one per device in submission order, publishes progress to watchers, cancels them, and
// after a restart resumes the jobs that were RUNNING (from their last checkpoint) before any
// queued job; a job that was RUNNING whenever the trainer died is retried at most
// max_job_retries times, then FAILED ("crashed the trainer"). Each trainer data dir has a
// persistent random instance id; recorder run ids are "<instance id>-<job id>", so trainers that
// share a recorder never collide. No gRPC here: trainer_service.h is the thin wire adapter.
#ifndef MONOROUTE_SERVICES_TRAINER_JOB_MANAGER_H_
#define MONOROUTE_SERVICES_TRAINER_JOB_MANAGER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "prometheus/registry.h"
#include "services/trainer/job.h"
#include "services/trainer/job_backend.h"
#include "services/trainer/job_metrics.h"
#include "services/trainer/job_store.h"
#include "services/trainer/trainer_metrics.h"

namespace monoroute::trainer {

struct JobManagerOptions {
  // Trainer data directory: job records in <data_dir>/store, default outputs in
  // <data_dir>/jobs/<id>.
  std::string data_dir;
  // Paths named in specs must lie under one of these (empty: any absolute path).
  std::vector<std::string> allowed_roots;
  // Device used when a spec names none.
  std::string default_device = "cpu";
  // Validates and runs jobs. Required.
  std::shared_ptr<JobBackend> backend;
  // Metrics registry (optional, not owned; must outlive the manager).
  prometheus::Registry* registry = nullptr;
  // A running job's record is written to disk at most this often (state changes: always).
  int64_t persist_interval_ms = 1000;
  // Start the runner immediately (false: call StartRunner() later; tests inspect the queue).
  bool start_runner = true;
  // Restarts a job gets after the trainer died while it ran (SIGKILL, crash: not a clean
  // SIGTERM stop); the next time it is FAILED as "crashed the trainer".
  int max_job_retries = 2;
  // Retries of a job whose worker process died (a signal such as SIGKILL or SIGSEGV, an exit
  // without a result) before the job is FAILED; each retry resumes from the last checkpoint.
  int max_worker_retries = 2;
  // Wait before the first retry of a dead worker, ms; doubles with each retry, at most 60 s.
  int64_t worker_retry_backoff_ms = 1000;
  // A job's job_id metric series stay this long after it ends (a scrape sees its final values)
  // and are removed at the next job state change after that; 0: at its own end.
  int64_t metrics_job_linger_ms = 5 * 60 * 1000;
};

// Longest SubmitJob `name`, in bytes.
inline constexpr size_t kMaxSubmitNameBytes = 256;

// A submission.
struct SubmitRequest {
  std::string spec_yaml;               // job spec YAML
  std::vector<std::string> overrides;  // "a.b=v"
  std::string name;                    // display name
};

// What changed in a watched job.
enum class JobUpdateKind { kSnapshot = 1, kState = 2, kStep = 3, kEval = 4, kCheckpoint = 5 };

// Receives updates of a watched job. Called from runner or RPC threads, never under the
// manager's lock; must not block and must not call Subscribe/Unsubscribe.
using JobUpdateCallback = std::function<void(JobUpdateKind kind, const JobRecord& job)>;

// Thread-safe.
class JobManager {
 public:
  static absl::StatusOr<std::unique_ptr<JobManager>> Create(const JobManagerOptions& options);
  ~JobManager();  // Shutdown()

  // Validates (UTF-8, spec, allowed roots, a free output dir) and queues a job: INVALID_ARGUMENT /
  // PERMISSION_DENIED / FAILED_PRECONDITION naming the field; nothing is stored on error. Ids are
  // contiguous (a refused submission takes none). Auth is the gRPC adapter's (BearerAuth).
  absl::StatusOr<JobRecord> Submit(const SubmitRequest& request);
  // NOT_FOUND if unknown.
  absl::StatusOr<JobRecord> Get(const std::string& id) const;
  // All jobs in submission order, optionally only those in `state`.
  std::vector<JobRecord> List(std::optional<JobState> state) const;
  // Cancels a queued job now, a running one at its next step (returns it with
  // cancel_requested). FAILED_PRECONDITION when already finished.
  absl::StatusOr<JobRecord> Cancel(const std::string& id);

  // The step and evaluation history of job `id` (job_metrics.h). NOT_FOUND for an unknown job.
  absl::StatusOr<JobMetricsPage> GetMetrics(const std::string& id, int64_t since_step,
                                            int max_points) const;
  // The log file of job `id` ("" when the backend keeps none). NOT_FOUND for an unknown job.
  absl::StatusOr<std::string> LogPath(const std::string& id) const;

  // Registers `callback` for job `id` and returns the job's current record (the snapshot) and
  // a handle for Unsubscribe. After Unsubscribe returns, the callback is never called again.
  absl::StatusOr<std::pair<uint64_t, JobRecord>> Subscribe(const std::string& id,
                                                           JobUpdateCallback callback);
  void Unsubscribe(uint64_t handle);

  // Waits until job `id` is terminal or `timeout_ms` passes; returns its record either way.
  absl::StatusOr<JobRecord> WaitForTerminal(const std::string& id, int64_t timeout_ms) const;

  // This trainer's persistent instance id (16 hex digits, created once in the data dir).
  const std::string& instance_id() const { return instance_id_; }

  // Starts the runner thread (no-op if running).
  void StartRunner();
  // Stops running jobs at their next step (they stay RUNNING on disk and resume on the next
  // start), stops the runner and joins all threads. Idempotent.
  void Shutdown();

 private:
  class Context;
  explicit JobManager(const JobManagerOptions& options);
  absl::Status Load();
  absl::Status LoadInstanceId();
  void DispatchLoop();
  void RunJob(std::string id);
  // After a worker death: records the attempt's failure and waits out the backoff. False when
  // the job must not be retried (no retries left, cancelled, shutting down).
  bool RetryAfterWorkerDeath(const std::string& id, const absl::Status& error);
  // Applies a finished run's outcome to the job (terminal state, or RUNNING on shutdown).
  void FinishJob(const std::string& id, const absl::StatusOr<RunOutcome>& outcome);
  // Marks the recorder run of a job that reached a terminal state finished (blocking call to the
  // backend; never under mu_) and stores the recorder's event count or a warning.
  void FinishRecording(const std::string& id);
  // Requires mu_. Adds a bounded, de-duplicated warning.
  void AddWarningLocked(JobRecord& j, const std::string& message);
  // Requires mu_. Writes the record and refreshes the jobs-by-state gauge.
  void PersistLocked(const JobRecord& job);
  void UpdateStateGaugeLocked();
  // FAILED_PRECONDITION when a job that is not finished writes into `output_dir`.
  absl::Status CheckOutputDirFree(const std::string& output_dir) const;
  void Notify(JobUpdateKind kind, const JobRecord& job);

  JobManagerOptions options_;
  std::string instance_id_;
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<TrainerMetrics> metrics_;

  std::mutex submit_mu_;  // serialises Submit (contiguous ids); taken before mu_
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, JobRecord> jobs_;
  std::map<std::string, int64_t> last_persist_ms_;
  std::set<std::string> busy_devices_;
  std::set<std::string> active_;  // ids whose runner thread is live
  // Terminal jobs whose recorder run the dispatcher still has to finish (jobs that ended without
  // a runner: cancelled while interrupted, failed at start-up).
  std::vector<std::string> pending_finish_;
  uint64_t next_seq_ = 1;
  bool shutdown_ = false;
  bool runner_started_ = false;
  std::thread dispatcher_;
  std::vector<std::thread> job_threads_;

  std::mutex sub_mu_;  // guards subscribers_; held while callbacks run
  std::map<uint64_t, std::pair<std::string, JobUpdateCallback>> subscribers_;
  uint64_t next_sub_ = 1;
};

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_JOB_MANAGER_H_
