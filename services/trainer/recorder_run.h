// The trainer's own calls on a job's recorder run (apart from the worker's event upload):
// FinishRun when the job ends in any state, which also tells the recorder's event count of the run
// (the job's exact acked count, whatever its attempts reported before they ended).
#ifndef MONOROUTE_SERVICES_TRAINER_RECORDER_RUN_H_
#define MONOROUTE_SERVICES_TRAINER_RECORDER_RUN_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/service/tls_credentials.h"

namespace monoroute::trainer {

// How to reach the recorder.
struct RecorderRunOptions {
  // Recorder address host:port. Required.
  std::string address;
  // Sent as "authorization: Bearer <token>" when not empty.
  std::string bearer_token;
  // TLS of the channel (plaintext when not enabled).
  ChannelTlsOptions tls;
  // Deadline of the call.
  std::chrono::milliseconds timeout{10000};
};

// Marks `run_id` finished (idempotent) and returns the events the recorder holds for it
// (duplicates excluded). NOT_FOUND for a run never declared; UNAVAILABLE when the recorder is not
// reachable. Thread-safe.
absl::StatusOr<uint64_t> FinishRecorderRun(const RecorderRunOptions& options,
                                           const std::string& run_id);

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_RECORDER_RUN_H_
