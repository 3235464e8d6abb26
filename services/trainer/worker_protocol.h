// The trainer <-> job worker protocol. The trainer writes a WorkerRequest (JSON, mode 0600) into
// the job's work dir and starts `monoroute-trainer --worker --request FILE`; the recorder token
// travels in the environment (kWorkerTokenEnv), never in a file or argv. The worker reports on
// fd 3 (subprocess.h) with one JSON object per line, each with a "type":
//   start {start_step, total_steps}        progress {the StepReport's fields}
//   eval {the EvalReport's fields}          phase {phase, done, total}
//   checkpoint {step, dir, seconds}
// (StepReport / EvalReport / PhaseReport: common/engine/training_observer.h, written and read with
// the one field list of common/engine/progress_fields.h)
//   events {events_enqueued, events_acked, events_dropped, batches_acked, duplicate_acks}
//   warning {message}                      result {ok, stopped_early, final_step,
//                                                  final_val_loss (null = NaN), checkpoint_dir}
//                                           or {ok: false, code, message}
// The parent turns lines into JobContext callbacks (HandleReportLine). A worker that wrote its
// result exits 0; anything else (a signal, another exit code, no result) is a crash. Plain data,
// no gRPC, no LibTorch; functions are thread-safe.
#ifndef MONOROUTE_SERVICES_TRAINER_WORKER_PROTOCOL_H_
#define MONOROUTE_SERVICES_TRAINER_WORKER_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/service/tls_credentials.h"
#include "services/trainer/job.h"
#include "services/trainer/job_backend.h"
#include "services/trainer/recorder_upload.h"

namespace monoroute::trainer {

// Environment variable carrying the recorder bearer token to the worker.
inline constexpr char kWorkerTokenEnv[] = "MONOROUTE_WORKER_RECORDER_TOKEN";

// What a worker runs. Written by the trainer, read once by the worker.
struct WorkerRequest {
  std::string job_id;     // "job-000001" (recorder writer id, labels)
  std::string job_name;   // display name (label)
  std::string spec_yaml;  // the normalised spec
  // Recorder run id ("" or no upload.recorder_address: nothing is recorded).
  std::string run_id;
  RecorderUploadOptions upload;  // the trainer's upload settings, as they are
  int threads = 1;               // resolved intra-op threads (the spec's 0 resolved by the trainer)
  int tokenize_threads = 1;      // resolved tokenisation threads
  JobEventStats prior_events;    // earlier attempts' event totals (FinishRun needs none dropped)
  std::string lock_path;         // held (flock) while the worker runs: one worker per job
};

// The one field list of WorkerRequest (the request file's JSON object, written and read by the
// visitors of common/engine/progress_fields.h): the upload settings at the top level, their TLS
// as "recorder_tls", the earlier attempts' counters as "prior_events".
template <typename T, typename V>
std::enable_if_t<std::is_same_v<std::remove_const_t<T>, WorkerRequest>> VisitFields(T& r, V& v) {
  v("job_id", r.job_id);
  v("job_name", r.job_name);
  v("spec_yaml", r.spec_yaml);
  v("run_id", r.run_id);
  VisitFields(r.upload, v);
  v("threads", r.threads);
  v("tokenize_threads", r.tokenize_threads);
  v("prior_events", r.prior_events);
  v("lock_path", r.lock_path);
}

std::string WorkerRequestToJson(const WorkerRequest& r);
// INVALID_ARGUMENT naming `source` when malformed.
absl::StatusOr<WorkerRequest> WorkerRequestFromJson(const std::string& text,
                                                    const std::string& source);

// Report lines (no trailing newline).
std::string StartLine(int64_t start_step, int64_t total_steps);
std::string ProgressLine(const engine::StepReport& p);
std::string EvalLine(const engine::EvalReport& e);
std::string PhaseLine(const engine::PhaseReport& p);
std::string CheckpointLine(int64_t step, const std::string& dir, double seconds);
std::string EventStatsLine(const JobEventStats& s);
std::string WarningLine(const std::string& message);
std::string ResultLine(const absl::StatusOr<RunOutcome>& result);

// The worker's final word, as the parent received it.
struct WorkerResult {
  bool received = false;
  absl::Status status;  // the run's error when !ok
  RunOutcome outcome;
};

// Applies one report line: callbacks on `ctx`, a result line into `*result`. INVALID_ARGUMENT
// for a line that is not a known report (the caller logs and ignores it).
absl::Status HandleReportLine(const std::string& line, JobContext* ctx, WorkerResult* result);

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_WORKER_PROTOCOL_H_
