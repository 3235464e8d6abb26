// `monoroute train --recorder ADDR --run-id ID ...`: uploads the job's routing events to a
// recorder (each rank of a data-parallel job its own share, writer id "rank-R"), so `monoroute
// train` workers launched by Kubernetes or torchrun record like the trainer service's jobs.
// MakeTrainRecorder is defined in builds with the services (train_recording.cc); elsewhere the
// weak declaration below resolves to null and the flags are refused.
#ifndef MONOROUTE_CLIENTS_CLI_TRAIN_RECORDING_H_
#define MONOROUTE_CLIENTS_CLI_TRAIN_RECORDING_H_

#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "common/base/tls_options.h"
#include "common/engine/job_spec.h"
#include "common/engine/training_observer.h"

namespace monoroute::cli {

// Recorder flags of `monoroute train`.
struct TrainRecordingOptions {
  // Recorder address host:port; empty: no recording.
  std::string address;
  // Recorder run id (required with address); the same for every rank and every restart.
  std::string run_id;
  // File holding the recorder's bearer token (optional).
  std::string token_file;
  // TLS to the recorder (--recorder-tls-*): CA bundle, client certificate and key (mutual TLS),
  // server name; all optional.
  ChannelTlsOptions tls;
};

// Registers --recorder, --run-id, --recorder-token-file, --recorder-tls-{ca,cert,key,server-name}.
inline void AddTrainRecordingFlags(CLI::App* sub, TrainRecordingOptions* o) {
  sub->add_option("--recorder", o->address, "Record routing events to this recorder (host:port)");
  sub->add_option("--run-id", o->run_id, "Recorder run id (with --recorder)");
  sub->add_option("--recorder-token-file", o->token_file, "Recorder bearer token file");
  AddChannelTlsFlags(sub, "recorder", &o->tls);
}

// The flags again, for the command line of a child rank.
std::vector<std::string> TrainRecordingArgs(const TrainRecordingOptions& o);

// An observer that forwards every callback to `inner` (not owned, outlives it) and uploads the
// routing events: the run is declared (idempotently) at OnRunShape, FlushEvents waits for the
// acks, OnEventsComplete (rank 0, completed jobs) marks the run finished. A recorder that
// refuses the run (or cannot be reached then) fails the job before its first step (Error() says
// why). Training-thread only.
class TrainRecorder : public engine::TrainingObserver {
 public:
  // Why the recording failed (OK while it works).
  virtual absl::Status Error() const = 0;
  // One line of upload figures (events enqueued / acked / dropped).
  virtual std::string Summary() const = 0;
};

// Defined with the services only (null otherwise).
__attribute__((weak)) absl::StatusOr<std::unique_ptr<TrainRecorder>> MakeTrainRecorder(
    const TrainRecordingOptions& options, const engine::JobSpec& spec,
    engine::TrainingObserver* inner);

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_TRAIN_RECORDING_H_
