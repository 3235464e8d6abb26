// Reads what the explorer needs from a recorder over gRPC: the runs (ListRuns) and a run's raw
// events of one split with every field (streamed QueryEvents) into RunEvents.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RECORDER_EVENTS_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RECORDER_EVENTS_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/service/tls_credentials.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"
#include "services/analysis/explorer/pages.h"
#include "services/analysis/explorer/run_events.h"

namespace monoroute::analysis::explorer {

struct RecorderEventsOptions {
  // Recorder address, host:port.
  std::string address = "127.0.0.1:7101";
  // TLS of the channel (plaintext when not enabled).
  ChannelTlsOptions tls;
  // Sent as "authorization: Bearer <token>" when not empty.
  std::string bearer_token;
  // Deadline of each call.
  std::chrono::milliseconds timeout{120000};
  // Largest message accepted from the recorder, in bytes.
  int max_message_bytes = 64 << 20;
  // Most events read per layer (more: RESOURCE_EXHAUSTED naming the run and layer).
  uint64_t max_events_per_layer = 20000000;
};

// Thread-safe (a gRPC stub is); owns its channel.
class RecorderEvents {
 public:
  // INVALID_ARGUMENT for an empty address or unusable TLS files.
  static absl::StatusOr<std::unique_ptr<RecorderEvents>> Create(
      const RecorderEventsOptions& options);

  // Every run, newest write first.
  absl::StatusOr<std::vector<RunListing>> ListRuns() const;
  // The run's summary (NOT_FOUND for an unknown run; UNAVAILABLE naming the address).
  absl::StatusOr<recorder::v1::RunSummary> GetRun(const std::string& run_id) const;
  // The events of `split` of every routed layer ("" = "valid" when the run has it, else its
  // first split that is not a control split). NOT_FOUND for a split the run does not have,
  // FAILED_PRECONDITION for a counts-only run.
  absl::StatusOr<RunEvents> ReadRun(const recorder::v1::RunSummary& summary,
                                    const std::string& split) const;

  // The split ReadRun reads for `split` (the default resolved); NOT_FOUND when absent.
  static absl::StatusOr<std::string> ResolveSplit(const recorder::v1::RunSummary& summary,
                                                  const std::string& split);

 private:
  RecorderEvents(const RecorderEventsOptions& options, std::shared_ptr<grpc::Channel> channel);
  void Prepare(grpc::ClientContext* ctx) const;
  absl::Status Wrap(const grpc::Status& s, const std::string& what) const;
  absl::Status ReadLayer(const std::string& run_id, const std::string& split,
                         LayerEventsBuilder* builder) const;

  RecorderEventsOptions options_;
  std::unique_ptr<recorder::v1::Recorder::Stub> stub_;
};

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_RECORDER_EVENTS_H_
