// The trainer's job record: what a job is, its state and progress, and its JSON persistence form.
// Plain data (no gRPC, no LibTorch: the engine's progress types are torch-free headers);
// trainer_service converts it to monoroute.trainer.v1.Job.
#ifndef MONOROUTE_SERVICES_TRAINER_JOB_H_
#define MONOROUTE_SERVICES_TRAINER_JOB_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/base/enum_names.h"
#include "common/engine/training_observer.h"
#include "services/recorder/upload_counters.h"

namespace monoroute::trainer {

// Lifecycle of a job. Values match monoroute.trainer.v1.JobState. kSucceededWithWarnings: every
// step ran and the checkpoint is complete, but something was lost on the way (routing events
// dropped, the recorder run not finished): `warnings` says what. Never reported as kSucceeded.
enum class JobState {
  kQueued = 1,
  kRunning = 2,
  kSucceeded = 3,
  kFailed = 4,
  kCancelled = 5,
  kSucceededWithWarnings = 6,
};

// Every state by its wire and job-store name, in the order listings and metrics use.
inline constexpr EnumNames<JobState, 6> kJobStateNames = {
    {{JobState::kQueued, "QUEUED"},
     {JobState::kRunning, "RUNNING"},
     {JobState::kSucceeded, "SUCCEEDED"},
     {JobState::kSucceededWithWarnings, "SUCCEEDED_WITH_WARNINGS"},
     {JobState::kFailed, "FAILED"},
     {JobState::kCancelled, "CANCELLED"}}};

// "QUEUED", "RUNNING", ...
const char* JobStateName(JobState s);
// Parses a name as printed by JobStateName (case-insensitive). INVALID_ARGUMENT otherwise.
absl::StatusOr<JobState> ParseJobState(const std::string& name);
// True for SUCCEEDED, SUCCEEDED_WITH_WARNINGS, FAILED, CANCELLED.
bool IsTerminal(JobState s);

// Routing events sent to the recorder: the recorder writer's upload counters, summed over the
// job's attempts and ranks (events_dropped also counts the worker's own drops).
using JobEventStats = recorder::UploadCounters;

// A JobEventStats as its JSON object: the job store's "events" and the worker's "events" line.
nlohmann::json EventStatsToJson(const JobEventStats& s);
// Reads what EventStatsToJson wrote; a missing field reads as 0.
JobEventStats EventStatsFromJson(const nlohmann::json& j);

// Everything the trainer knows about one job. Copyable value type.
struct JobRecord {
  std::string id;    // "job-000001" (per trainer data dir)
  uint64_t seq = 0;  // submission order (queue order)
  std::string name;  // display name given at submission
  JobState state = JobState::kQueued;
  std::string failure_reason;  // set when FAILED (at most ~4 KiB)
  std::string spec_yaml;       // normalised, validated spec
  std::string kind;            // "pretrain" | "finetune"
  std::string output_dir;      // checkpoint directory
  std::string device;          // "cpu" | "cuda:N"
  int64_t created_unix_ms = 0;
  int64_t started_unix_ms = 0;   // 0 until first RUNNING
  int64_t finished_unix_ms = 0;  // 0 until terminal
  // Latest step report of the engine (the one progress type: common/engine/training_observer.h,
  // its fields listed once in common/engine/progress_fields.h).
  engine::StepReport progress;
  // Every evaluation, oldest first (periodic ones and the final one).
  std::vector<engine::EvalReport> evals;
  // The part of the job that runs now ("pretokenising", "training", "final_eval", ...) with its
  // own progress; empty before the worker reports one.
  engine::PhaseReport phase;
  // The step the job's first attempt started at: > 0 when it continued an existing checkpoint
  // (resume: must), so "resumed at step N, M new steps" can be told.
  int64_t resumed_from_step = 0;
  JobEventStats events;
  std::string recorder_run_id;  // "<trainer instance id>-<id>"; "" when the job records nothing
  int resumes = 0;              // restarts that resumed this job from a checkpoint
  // Times the trainer died (not a clean SIGTERM stop) while this job was RUNNING; above
  // --max-job-retries the job is FAILED as "crashed the trainer".
  int trainer_crashes = 0;
  // Set when a clean trainer shutdown stopped the job (it stays RUNNING and resumes); cleared
  // when it runs again. A RUNNING job without it at start-up was interrupted by a crash.
  bool stopped_by_shutdown = false;
  // Why a finished job is SUCCEEDED_WITH_WARNINGS (e.g. events dropped); at most 16 entries.
  std::vector<std::string> warnings;
  // Process id of the job's worker while one runs (0 otherwise).
  int worker_pid = 0;
  // Times the job's worker died (a signal, an exit without a result) and the job was retried
  // from its last checkpoint; above --max-worker-retries the job is FAILED.
  int worker_retries = 0;
  // Why each failed attempt ended ("attempt 1 (pid 123, step 7): job worker (pid 123) killed by
  // SIGKILL ..."), oldest first; at most kMaxAttemptFailures entries of 1 KiB.
  std::vector<std::string> attempt_failures;
  double final_val_loss = 0;
  std::string checkpoint_dir;  // final checkpoint
  bool cancel_requested = false;
};

// Every field of a JobRecord with its name (the JSON key and the trainer.v1.Job field's name),
// listed once for the JSON writer and reader (job.cc) and the proto (trainer_service.cc):
// `v(key, field)` for a key a job file may lack (the field keeps its value), `v.Required(key,
// field)` for one it must have. `Record` is JobRecord, const or not.
template <typename Record, typename V>
void VisitJobFields(Record& j, V& v) {
  v.Required("id", j.id);
  v.Required("seq", j.seq);
  v("name", j.name);
  v.Required("state", j.state);
  v("failure_reason", j.failure_reason);
  v.Required("spec_yaml", j.spec_yaml);
  v("kind", j.kind);
  v.Required("output_dir", j.output_dir);
  v("device", j.device);
  v("created_unix_ms", j.created_unix_ms);
  v("started_unix_ms", j.started_unix_ms);
  v("finished_unix_ms", j.finished_unix_ms);
  v("progress", j.progress);
  v("evals", j.evals);
  v("phase", j.phase);
  v("resumed_from_step", j.resumed_from_step);
  v("events", j.events);
  v("recorder_run_id", j.recorder_run_id);
  v("resumes", j.resumes);
  v("trainer_crashes", j.trainer_crashes);
  v("stopped_by_shutdown", j.stopped_by_shutdown);
  v("warnings", j.warnings);
  v("worker_pid", j.worker_pid);
  v("worker_retries", j.worker_retries);
  v("attempt_failures", j.attempt_failures);
  v("final_val_loss", j.final_val_loss);
  v("checkpoint_dir", j.checkpoint_dir);
  v("cancel_requested", j.cancel_requested);
}

// Most entries kept in JobRecord::attempt_failures.
inline constexpr size_t kMaxAttemptFailures = 16;

// JSON form used by the job store (stable field names).
std::string JobToJson(const JobRecord& job);
// Parses JobToJson's output; INVALID_ARGUMENT naming `source` when it is malformed.
absl::StatusOr<JobRecord> JobFromJson(const std::string& text, const std::string& source);

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_JOB_H_
