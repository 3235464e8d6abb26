// What the job manager needs from a training engine: validate/normalise a spec, and run a job.
// The production backend (engine_backend.h) wraps common/engine; tests use a fake.
#ifndef MONOROUTE_SERVICES_TRAINER_JOB_BACKEND_H_
#define MONOROUTE_SERVICES_TRAINER_JOB_BACKEND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "services/trainer/job.h"

namespace monoroute::trainer {

// A path-valued spec field the user set (checked against the allowed roots).
struct SpecPath {
  std::string field;  // key path, e.g. "data.train_path"
  std::string path;   // its value
};

// A fully validated spec, ready to queue.
struct PreparedSpec {
  std::string spec_yaml;        // normalised YAML (overrides and defaults applied)
  std::string kind;             // "pretrain" | "finetune"
  std::string name;             // the spec's own `name` ("" when it has none)
  std::string output_dir;       // where checkpoints go
  std::string device;           // "cpu" | "cuda:N"
  std::vector<SpecPath> paths;  // user-set path fields (output_dir included when user-set)
  bool records_events = false;  // the job streams routing events (it has routing)
};

// Outcome of one run attempt.
struct RunOutcome {
  bool stopped_early = false;  // ShouldStop() ended it before the last step
  int64_t final_step = 0;
  double final_val_loss = 0;
  std::string checkpoint_dir;
};

// Payload type marking a Run error as "the job's worker process died" (a signal, an exit without
// a result): the manager retries such a job from its last checkpoint, unlike an error the worker
// reported itself (bad data, a full disk), which fails the job.
inline constexpr char kWorkerDiedPayload[] = "type.monoroute.dev/trainer.WorkerDied";

// `status` marked as a worker death (see kWorkerDiedPayload).
inline absl::Status WorkerDiedError(absl::Status status) {
  status.SetPayload(kWorkerDiedPayload, absl::Cord("1"));
  return status;
}

// Whether `status` is a worker death (retryable from the last checkpoint).
inline bool IsWorkerDied(const absl::Status& status) {
  return status.GetPayload(kWorkerDiedPayload).has_value();
}

// Receives a running job's progress. Called from the job's runner thread; implementations are
// thread-safe and cheap (they never block on I/O for long).
class JobContext {
 public:
  virtual ~JobContext() = default;
  virtual void OnStart(int64_t start_step, int64_t total_steps) = 0;
  virtual void OnProgress(const engine::StepReport& progress) = 0;
  virtual void OnEval(const engine::EvalReport& eval) = 0;
  // The job entered a phase or advanced in it (engine::PhaseReport).
  virtual void OnPhase(const engine::PhaseReport& phase) {}
  virtual void OnCheckpoint(int64_t step, const std::string& dir, double seconds) = 0;
  // Event statistics of THIS attempt (the manager adds earlier attempts' totals).
  virtual void OnEventStats(const JobEventStats& stats) = 0;
  // Something was lost or degraded (e.g. routing events dropped); a job that completes with
  // warnings ends SUCCEEDED_WITH_WARNINGS.
  virtual void OnWarning(const std::string& message) {}
  // The job's worker process started (`pid`) or ended (0).
  virtual void OnWorker(int pid) {}
  // True when the job is cancelled or the trainer shuts down: stop at the next step.
  virtual bool ShouldStop() = 0;
};

// Thread-safe: Prepare may run on RPC threads while Run runs on a runner thread.
class JobBackend {
 public:
  virtual ~JobBackend() = default;
  // Parses and validates every value of the spec without touching the file system.
  // `default_output_dir` is used when the spec leaves output_dir empty; `default_device` when it
  // names no device.
  virtual absl::StatusOr<PreparedSpec> Prepare(const std::string& spec_yaml,
                                               const std::vector<std::string>& overrides,
                                               const std::string& default_output_dir,
                                               const std::string& default_device) = 0;
  // Checks the files a prepared spec needs (run after its paths passed the allowed roots), and
  // everything that needs them: the model's positions and layers, the job's estimated memory
  // against its limit (RESOURCE_EXHAUSTED).
  virtual absl::Status CheckFiles(const PreparedSpec& spec) = 0;
  // Runs (or resumes, from job.output_dir) the job to completion, reporting to `ctx`. A job that
  // ShouldStop() ended returns stopped_early (also when its worker had to be killed).
  virtual absl::StatusOr<RunOutcome> Run(const JobRecord& job, JobContext* ctx) = 0;
  // Called once when a job that ran reached a terminal state (any state): marks its recorder run
  // finished and returns the events the recorder holds for it (nullopt: the job records nothing,
  // or no run was ever declared). An error (recorder unreachable) becomes a job warning.
  virtual absl::StatusOr<std::optional<uint64_t>> FinishRecording(const JobRecord& job) {
    return std::optional<uint64_t>();
  }
  // The file the job's workers write their output to ("" when the backend keeps none).
  virtual std::string LogPath(const JobRecord& job) const { return ""; }
};

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_JOB_BACKEND_H_
