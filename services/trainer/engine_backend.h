// The production JobBackend: validates specs with common/engine's job-spec parser, runs jobs with
// engine::RunTrainingJob, and streams the routing events the engine reports to the recorder
// (RecorderWriter: bounded queue, bounded blocking, idempotent batch ids = the engine's
// deterministic block ids, writer id = job id, so a resumed job's re-sends are deduplicated).
#ifndef MONOROUTE_SERVICES_TRAINER_ENGINE_BACKEND_H_
#define MONOROUTE_SERVICES_TRAINER_ENGINE_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "services/trainer/job_backend.h"

namespace monoroute::trainer {

struct EngineBackendOptions {
  // Recorder address (host:port); empty: routing events are not recorded.
  std::string recorder_address;
  // Bearer token sent to the recorder (empty: none).
  std::string recorder_token;
  // Bound on events queued for the recorder and not yet acked.
  size_t max_queue_events = size_t{1} << 21;
  // Longest a training step may wait for queue space before a block is dropped (and counted).
  int64_t max_block_ms = 200;
  // How long a finished job waits for the recorder to ack its remaining events.
  int64_t flush_timeout_ms = 120000;
  // Same, for a job that stops early (cancel / shutdown).
  int64_t stop_flush_timeout_ms = 5000;
};

// Thread-safe (stateless between calls).
class EngineBackend : public JobBackend {
 public:
  static absl::StatusOr<std::unique_ptr<EngineBackend>> Create(const EngineBackendOptions& options);

  absl::StatusOr<PreparedSpec> Prepare(const std::string& spec_yaml,
                                       const std::vector<std::string>& overrides,
                                       const std::string& default_output_dir,
                                       const std::string& default_device) override;
  absl::Status CheckFiles(const PreparedSpec& spec) override;
  absl::StatusOr<RunOutcome> Run(const JobRecord& job, JobContext* ctx) override;

 private:
  explicit EngineBackend(const EngineBackendOptions& options) : options_(options) {}
  EngineBackendOptions options_;
};

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_ENGINE_BACKEND_H_
