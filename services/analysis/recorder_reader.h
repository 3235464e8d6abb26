// The analysis' one reader of a recorder over gRPC (the report service and the explorer use it):
// run summaries and lists, totals, and raw routing events streamed by QueryEvents as
// events::RoutingEventView (converted by the recorder's proto_convert), or collected into a
// RoutingTableBuilder.
#ifndef MONOROUTE_SERVICES_ANALYSIS_RECORDER_READER_H_
#define MONOROUTE_SERVICES_ANALYSIS_RECORDER_READER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/events/routing_event_batch.h"
#include "common/service/tls_credentials.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

struct RecorderReaderOptions {
  // Recorder address, host:port.
  std::string address = "127.0.0.1:7101";
  // Deadline of each call (a scan of a big layer's events is one call).
  std::chrono::milliseconds timeout{120000};
  // Largest message accepted from the recorder, in bytes.
  int max_message_bytes = 64 << 20;
  // TLS of the channel (--recorder-tls-*; plaintext when not enabled).
  ChannelTlsOptions tls;
  // Sent as "authorization: Bearer <token>" on every call when not empty (a recorder started
  // with --auth-reads needs it).
  std::string bearer_token;
};

// Thread-safe (a gRPC stub is); owns its channel.
class RecorderReader {
 public:
  // INVALID_ARGUMENT for an empty address or unusable TLS files (naming flag and file).
  static absl::StatusOr<std::unique_ptr<RecorderReader>> Create(
      const RecorderReaderOptions& options);

  // The run's summary; NOT_FOUND for an unknown run, UNAVAILABLE naming the address when the
  // recorder cannot be reached.
  absl::StatusOr<recorder::v1::RunSummary> GetRun(const std::string& run_id) const;

  // Every run's summary (ListRuns, page by page), in run id order.
  absl::StatusOr<std::vector<recorder::v1::RunSummary>> ListRuns() const;

  // Streams QueryEvents(`query`) and calls `fn` with each returned batch (one stored block: one
  // step and layer) as a read-only view, valid during the call. INTERNAL naming the run for a
  // malformed batch (it fails RoutingEventView::Validate or its top_k is not `top_k`); an error of
  // `fn` cancels the stream and is returned.
  absl::Status ForEachBatch(
      const recorder::v1::EventQuery& query, uint32_t top_k,
      const std::function<absl::Status(const events::RoutingEventView&)>& fn) const;

  // Adds the events of one layer, split and inclusive step range (max_step 0 = no bound) to
  // `builder`; RESOURCE_EXHAUSTED when there are more than `max_events`.
  absl::Status ReadEvents(const std::string& run_id, uint32_t layer, const std::string& split,
                          uint64_t min_step, uint64_t max_step, uint64_t max_events,
                          RoutingTableBuilder* builder) const;

  // Events of one layer and split (all steps): the recorder's GetTotals, read before any event to
  // estimate a report's work.
  absl::StatusOr<uint64_t> LayerEvents(const std::string& run_id, uint32_t layer,
                                       const std::string& split) const;

  const std::string& address() const { return options_.address; }

 private:
  RecorderReader(const RecorderReaderOptions& options, std::shared_ptr<grpc::Channel> channel);
  // Sets the deadline and the bearer token of a call.
  void Prepare(grpc::ClientContext* ctx) const;
  absl::Status Wrap(const grpc::Status& s, const std::string& what) const;

  RecorderReaderOptions options_;
  std::unique_ptr<recorder::v1::Recorder::Stub> stub_;
};

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_RECORDER_READER_H_
