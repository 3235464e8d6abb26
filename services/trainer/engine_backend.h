// The production JobBackend. Validates specs with common/engine (parser limits, thread caps, the
// model's positions and layers, the estimated memory against the job memory limit: job_resources.h)
// and runs every job in a supervised worker process (`monoroute-trainer --worker`, job_worker.h)
// with RLIMIT_DATA = the job's memory limit, so a job that runs out of memory, crashes or is killed
// fails alone and never takes the trainer down. The worker uploads the routing events to the
// recorder itself and reports progress on a pipe (worker_protocol.h), which Run turns into the
// JobContext callbacks. Cancel / shutdown: SIGTERM to the worker's process group (it checkpoints
// and exits), SIGKILL after the grace period.
#ifndef MONOROUTE_SERVICES_TRAINER_ENGINE_BACKEND_H_
#define MONOROUTE_SERVICES_TRAINER_ENGINE_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/service/tls_credentials.h"
#include "services/trainer/job_backend.h"
#include "services/trainer/recorder_upload.h"

namespace monoroute::trainer {

struct EngineBackendOptions {
  // Where and how the workers upload routing events (recorder address, TLS, queue and flush
  // bounds); handed to each worker in its request.
  RecorderUploadOptions upload;
  // Bearer token sent to the recorder (empty: none); passed to workers in their environment.
  std::string recorder_token;
  // The worker executable (a monoroute-trainer binary); empty: this process's own binary
  // (/proc/self/exe, so a replaced binary file does not change the workers' version).
  std::string worker_binary;
  // Per-job worker files: <work_dir>/<job id>/{request.json, worker.log, lock}. Required by Run.
  std::string work_dir;
  // Memory limit of a job (RLIMIT_DATA of its worker on the CPU, and the bound of the estimate
  // checked at submission), MiB; 0: 3/4 of the machine's (or cgroup's) memory. A spec's
  // memory_limit_mb may lower it.
  int64_t job_memory_limit_mb = 0;
  // Cap on a job's `threads` and `data.tokenize_threads` (a spec's 0 resolves to it); 0: the CPUs
  // this process may use.
  int max_job_threads = 0;
  // Grace between SIGTERM (the worker checkpoints) and SIGKILL on cancel / shutdown.
  int64_t stop_grace_ms = 30000;
};

// Thread-safe (stateless between calls); each Run drives one worker from the calling thread.
class EngineBackend : public JobBackend {
 public:
  // Resolves the defaults; INVALID_ARGUMENT for a bad option.
  static absl::StatusOr<std::unique_ptr<EngineBackend>> Create(const EngineBackendOptions& options);

  absl::StatusOr<PreparedSpec> Prepare(const std::string& spec_yaml,
                                       const std::vector<std::string>& overrides,
                                       const std::string& default_output_dir,
                                       const std::string& default_device) override;
  absl::Status CheckFiles(const PreparedSpec& spec) override;
  absl::StatusOr<RunOutcome> Run(const JobRecord& job, JobContext* ctx) override;
  // FinishRun on the recorder (recorder_run.h); the run's event count.
  absl::StatusOr<std::optional<uint64_t>> FinishRecording(const JobRecord& job) override;
  // <work_dir>/<job id>/worker.log (rank 0's output).
  std::string LogPath(const JobRecord& job) const override;

  // The resolved limits (for start-up logs and tests).
  int64_t job_memory_limit_mb() const { return options_.job_memory_limit_mb; }
  int max_job_threads() const { return options_.max_job_threads; }

 private:
  explicit EngineBackend(const EngineBackendOptions& options) : options_(options) {}
  EngineBackendOptions options_;
};

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_ENGINE_BACKEND_H_
