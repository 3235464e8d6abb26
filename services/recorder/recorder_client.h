// Client library of the recorder service: RecorderWriter streams routing-event batches to a
// recorder over one bidi Record stream, with a bounded queue, in-flight window, acks, reconnects
// and re-sending of unacked batches (the recorder deduplicates them by (run, writer, batch_seq)).
#ifndef MONOROUTE_SERVICES_RECORDER_RECORDER_CLIENT_H_
#define MONOROUTE_SERVICES_RECORDER_RECORDER_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/events/routing_event_batch.h"
#include "common/service/tls_credentials.h"
#include "monoroute/recorder/v1/recorder.pb.h"
#include "services/recorder/upload_counters.h"

namespace monoroute::recorder {

// The run declaration sent by RecorderWriter::CreateRun (the wire message itself).
using RunSpecLite = ::monoroute::recorder::v1::RunSpec;

struct RecorderWriterOptions {
  // Recorder address, host:port.
  std::string address;
  // Identifies this writer; keep it stable across restarts of the same job so that re-sent
  // batches are recognised (idempotency key = (run, writer_id, batch_seq)).
  std::string writer_id;
  // Sent as "authorization: Bearer <token>" when not empty.
  std::string bearer_token;
  // TLS of the channel (plaintext when not enabled); Create fails on unusable files.
  ChannelTlsOptions tls;
  // Bound on queued (not yet acked) events; beyond it Append waits up to max_block.
  size_t max_queue_events = 1 << 22;
  // How long Append may wait for queue space before the batch is dropped and counted.
  std::chrono::milliseconds max_block{200};
  // Batches sent on the stream and not yet acked.
  int max_in_flight_batches = 8;
  // Wait before reconnecting after the stream broke (doubles up to 20x on repeated failures).
  std::chrono::milliseconds retry_backoff{100};
  // Deadline of unary calls (CreateRun).
  std::chrono::milliseconds rpc_timeout{10000};
};

// Counters of a RecorderWriter (monotonic): the upload counters (events enqueued by Append,
// acked, dropped when the queue is full or the server rejects them, ...) and the reconnects.
struct RecorderWriterStats : UploadCounters {
  uint64_t retries = 0;  // stream reconnects
};

// Streams routing-event batches to a recorder. Thread-safe: any thread may call Append/Flush/stats;
// one background thread owns the stream. Destruction stops the thread without flushing (call
// Flush).
class RecorderWriter {
 public:
  static absl::StatusOr<std::unique_ptr<RecorderWriter>> Create(
      const RecorderWriterOptions& options);
  ~RecorderWriter();
  RecorderWriter(const RecorderWriter&) = delete;
  RecorderWriter& operator=(const RecorderWriter&) = delete;

  // Declares a run (idempotent; a conflicting spec gives ALREADY_EXISTS). Blocking unary call
  // with deadline options.rpc_timeout. With `wait_for_ready` > 0 the call instead rides through
  // connection failures (gRPC wait-for-ready: a refused or timed-out connect is retried with the
  // channel's backoff) until that much time has passed: for the first declaration of a job, when
  // a recorder that is merely slow to accept must not cost the job its events.
  absl::Status CreateRun(const RunSpecLite& spec,
                         std::chrono::milliseconds wait_for_ready = std::chrono::milliseconds(0));

  // Marks `run_id` finished on the recorder (blocking unary call with deadline `timeout`; the
  // recorder then refuses new batches for it). Call after a successful Flush. Idempotent.
  absl::Status FinishRun(const std::string& run_id, std::chrono::milliseconds timeout);

  // Enqueues a copy of `batch`, encoded once into its wire form (its header's run_id names the
  // run; its writer_id is replaced by options.writer_id; its batch_id, e.g. the engine's
  // deterministic one, lets the recorder recognise re-sends) without blocking longer than
  // max_block; returns false if the batch was dropped (counted in events_dropped). The view's
  // columns are read during the call only.
  bool Append(const events::RoutingEventView& batch);

  // Waits until every enqueued batch is acked or rejected (re-sending unacked ones after
  // reconnects). DEADLINE_EXCEEDED on timeout; if the server rejected a batch since the last
  // Flush, returns that error (e.g. INVALID_ARGUMENT naming the field).
  absl::Status Flush(std::chrono::milliseconds timeout);

  RecorderWriterStats stats() const;

  class Impl;

 private:
  explicit RecorderWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_RECORDER_CLIENT_H_
