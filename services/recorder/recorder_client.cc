// RecorderWriter: bounded queue -> one background thread -> bidi Record stream with acks, over a
// plaintext or TLS channel (common/service CreateServiceChannel). Batches are encoded once, in
// Append, into recycled wire buffers (event_batch_wire.h) that gRPC sends without copying.
#include "services/recorder/recorder_client.h"

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/service/grpc_status.h"
#include "common/service/tls_credentials.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"
#include "services/recorder/event_batch_wire.h"

namespace monoroute::recorder {
namespace client_internal {

// What the Record stream writes: one batch already in wire form. Shared with gRPC while it sends
// (the slice holds a reference) and with the writer's queue until the batch is acked.
struct PreEncodedEventBatch {
  std::shared_ptr<const EventBatchWire> wire;
};

}  // namespace client_internal
}  // namespace monoroute::recorder

// gRPC serializes a PreEncodedEventBatch by handing its bytes over as one slice, no copy: the
// slice keeps the buffer alive until the transport is done with it.
template <>
class grpc::SerializationTraits<monoroute::recorder::client_internal::PreEncodedEventBatch> {
 public:
  using Wire = std::shared_ptr<const monoroute::recorder::EventBatchWire>;

  static grpc::Status Serialize(const monoroute::recorder::client_internal::PreEncodedEventBatch& m,
                                grpc::ByteBuffer* bb, bool* own_buffer) {
    auto* hold = new Wire(m.wire);
    grpc::Slice slice(
        const_cast<char*>(m.wire->data()), m.wire->size(),
        [](void* p) { delete static_cast<Wire*>(p); }, hold);
    grpc::ByteBuffer tmp(&slice, 1);
    bb->Swap(&tmp);
    *own_buffer = true;
    return grpc::Status::OK;
  }

  // The writer never reads EventBatch messages.
  static grpc::Status Deserialize(grpc::ByteBuffer*,
                                  monoroute::recorder::client_internal::PreEncodedEventBatch*) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "PreEncodedEventBatch is write-only");
  }
};

namespace monoroute::recorder {
namespace {

using client_internal::PreEncodedEventBatch;

// The Record method's path (what the generated stub calls), for the stream that writes
// PreEncodedEventBatch.
const char* RecordMethod() {
  static const std::string* const name =
      new std::string(absl::StrCat("/", v1::Recorder::service_full_name(), "/Record"));
  return name->c_str();
}

// Recycled wire buffers kept per writer beyond those in flight.
constexpr size_t kMaxFreeWireBuffers = 4;

// The wire buffers of one writer. A buffer comes back here when its last holder lets go (the
// writer's queue on the ack, or gRPC's slice when the transport is done with it, whichever is
// later), so batches are encoded into memory already touched instead of fresh pages that are
// mapped, faulted in and unmapped again per batch. Thread-safe.
class WireBufferPool : public std::enable_shared_from_this<WireBufferPool> {
 public:
  // A recycled buffer, or a new one; it returns to the pool (while the pool lives) when its
  // last shared_ptr is released.
  std::shared_ptr<EventBatchWire> Take() {
    std::unique_ptr<EventBatchWire> w;
    {
      absl::MutexLock l(&mu_);
      if (!free_.empty()) {
        w = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (w == nullptr) w = std::make_unique<EventBatchWire>();
    std::weak_ptr<WireBufferPool> pool = weak_from_this();
    return std::shared_ptr<EventBatchWire>(w.release(), [pool](EventBatchWire* p) {
      std::unique_ptr<EventBatchWire> owned(p);
      if (auto live = pool.lock()) live->Return(std::move(owned));
    });
  }

 private:
  void Return(std::unique_ptr<EventBatchWire> w) {
    absl::MutexLock l(&mu_);
    if (free_.size() < kMaxFreeWireBuffers) free_.push_back(std::move(w));
  }

  absl::Mutex mu_;
  std::vector<std::unique_ptr<EventBatchWire>> free_ ABSL_GUARDED_BY(mu_);
};

// Statuses after which re-sending the same batch cannot succeed.
bool IsRejection(grpc::StatusCode c) {
  return c == grpc::StatusCode::INVALID_ARGUMENT || c == grpc::StatusCode::NOT_FOUND ||
         c == grpc::StatusCode::RESOURCE_EXHAUSTED || c == grpc::StatusCode::FAILED_PRECONDITION ||
         c == grpc::StatusCode::ALREADY_EXISTS || c == grpc::StatusCode::OUT_OF_RANGE;
}

bool IsAuthFailure(grpc::StatusCode c) {
  return c == grpc::StatusCode::UNAUTHENTICATED || c == grpc::StatusCode::PERMISSION_DENIED;
}

// Arguments of the writer's channel: no message limits of its own, fast reconnects.
grpc::ChannelArguments ChannelArgs() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

}  // namespace

class RecorderWriter::Impl {
 public:
  // `channel`: see ChannelArgs(); created by Create (which checks the TLS files).
  Impl(const RecorderWriterOptions& o, std::shared_ptr<grpc::Channel> channel)
      : opts_(o),
        channel_(std::move(channel)),
        record_method_(RecordMethod(), grpc::internal::RpcMethod::BIDI_STREAMING, channel_) {
    stub_ = v1::Recorder::NewStub(channel_);
    thread_ = std::thread([this] { Loop(); });
  }

  ~Impl() {
    {
      absl::MutexLock l(&mu_);
      stop_ = true;
      if (ctx_ != nullptr) ctx_->TryCancel();
    }
    thread_.join();
  }

  absl::Status CreateRun(const RunSpecLite& spec, std::chrono::milliseconds wait_for_ready) {
    grpc::ClientContext ctx;
    AddAuth(&ctx);
    const bool wait = wait_for_ready.count() > 0;
    ctx.set_wait_for_ready(wait);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     (wait ? wait_for_ready : opts_.rpc_timeout));
    v1::CreateRunResponse resp;
    return FromGrpcStatus(stub_->CreateRun(&ctx, spec, &resp));
  }

  absl::Status FinishRun(const std::string& run_id, std::chrono::milliseconds timeout) {
    grpc::ClientContext ctx;
    AddAuth(&ctx);
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    v1::FinishRunRequest req;
    req.set_run_id(run_id);
    v1::RunSummary resp;
    return FromGrpcStatus(stub_->FinishRun(&ctx, req, &resp));
  }

  bool Append(const events::RoutingEventView& batch) {
    std::shared_ptr<EventBatchWire> wire = wire_pool_->Take();  // memory already touched
    events::RoutingEventView v = batch;
    v.header.writer_id = opts_.writer_id;
    wire->Encode(v);
    const uint64_t events = batch.num_events();
    absl::MutexLock l(&mu_);
    auto has_room = [this, events]() {
      mu_.AssertHeld();
      return stop_ || queued_events_ == 0 || queued_events_ + events <= opts_.max_queue_events;
    };
    mu_.AwaitWithTimeout(absl::Condition(&has_room), absl::FromChrono(opts_.max_block));
    if (stop_ || !has_room()) {
      stats_.events_dropped += events;
      return false;
    }
    queued_events_ += events;
    stats_.events_enqueued += events;
    pending_.push_back(Item{std::move(wire), batch.header.batch_id, events});
    return true;
  }

  absl::Status Flush(std::chrono::milliseconds timeout) {
    absl::MutexLock l(&mu_);
    auto drained = [this]() {
      mu_.AssertHeld();
      return pending_.empty() && unacked_.empty();
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&drained), absl::FromChrono(timeout))) {
      return absl::DeadlineExceededError(absl::StrCat(
          "recorder flush: ", pending_.size() + unacked_.size(), " batches not acked after ",
          timeout.count(), " ms", last_stream_error_.empty() ? "" : " (last stream error: ",
          last_stream_error_, last_stream_error_.empty() ? "" : ")"));
    }
    absl::Status s = rejection_;
    rejection_ = absl::OkStatus();
    return s;
  }

  RecorderWriterStats stats() {
    absl::MutexLock l(&mu_);
    return stats_;
  }

 private:
  struct Item {
    std::shared_ptr<const EventBatchWire> wire;  // the encoded batch
    uint64_t batch_seq = 0;
    uint64_t events = 0;
  };

  void AddAuth(grpc::ClientContext* ctx) {
    if (!opts_.bearer_token.empty()) {
      ctx->AddMetadata("authorization", "Bearer " + opts_.bearer_token);
    }
  }

  // Owns the stream: (re)connects when there is work, sends within the in-flight window.
  void Loop() {
    int failures = 0;
    while (true) {
      {
        absl::MutexLock l(&mu_);
        auto work = [this]() {
          mu_.AssertHeld();
          return stop_ || !pending_.empty();
        };
        mu_.Await(absl::Condition(&work));
        if (stop_) return;
      }
      grpc::Status st = RunStream();
      bool ok_end = st.ok();
      {
        absl::MutexLock l(&mu_);
        if (stop_) return;
        if (!ok_end) last_stream_error_ = st.error_message();
        if (IsAuthFailure(st.error_code())) {
          // Nothing will be accepted: drop everything queued.
          for (auto* q : {&unacked_, &pending_}) {
            for (const Item& it : *q) stats_.events_dropped += it.events;
            q->clear();
          }
          queued_events_ = 0;
          rejection_ = FromGrpcStatus(st);
        } else if (IsRejection(st.error_code()) && !unacked_.empty()) {
          // The server rejected the first unacked batch (earlier ones were acked before).
          stats_.events_dropped += unacked_.front().events;
          queued_events_ -= unacked_.front().events;
          unacked_.pop_front();
          rejection_ = FromGrpcStatus(st);
        }
        // Re-send what was not acked, in order, on the next stream.
        while (!unacked_.empty()) {
          pending_.push_front(std::move(unacked_.back()));
          unacked_.pop_back();
        }
        if (!ok_end && !IsRejection(st.error_code())) ++stats_.retries;
      }
      if (ok_end || IsRejection(st.error_code())) {
        failures = 0;
        continue;
      }
      failures = std::min(failures + 1, 20);
      absl::MutexLock l(&mu_);
      auto stopping = [this]() {
        mu_.AssertHeld();
        return stop_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&stopping),
                           absl::FromChrono(opts_.retry_backoff * failures));
      if (stop_) return;
    }
  }

  // One stream: returns when it broke (status) or when stopping.
  grpc::Status RunStream() {
    grpc::ClientContext ctx;
    AddAuth(&ctx);
    {
      absl::MutexLock l(&mu_);
      if (stop_) return grpc::Status::CANCELLED;
      ctx_ = &ctx;
      broken_ = false;
    }
    std::unique_ptr<grpc::ClientReaderWriter<PreEncodedEventBatch, v1::BatchAck>> stream(
        grpc::internal::ClientReaderWriterFactory<PreEncodedEventBatch, v1::BatchAck>::Create(
            channel_.get(), record_method_, &ctx));
    std::thread reader([this, &stream, &ctx] {
      v1::BatchAck ack;
      while (stream->Read(&ack)) {
        absl::MutexLock l(&mu_);
        if (unacked_.empty() || unacked_.front().batch_seq != ack.batch_seq()) {
          ctx.TryCancel();  // protocol violation: restart the stream
          break;
        }
        Item& it = unacked_.front();
        stats_.events_acked += it.events;
        stats_.batches_acked += 1;
        if (ack.duplicate()) stats_.duplicate_acks += 1;
        queued_events_ -= it.events;
        unacked_.pop_front();
      }
      absl::MutexLock l(&mu_);
      broken_ = true;
    });
    bool write_failed = false;
    while (true) {
      PreEncodedEventBatch msg;
      {
        absl::MutexLock l(&mu_);
        auto can_send = [this]() {
          mu_.AssertHeld();
          return stop_ || broken_ ||
                 (!pending_.empty() &&
                  unacked_.size() < static_cast<size_t>(std::max(1, opts_.max_in_flight_batches)));
        };
        mu_.Await(absl::Condition(&can_send));
        if (stop_ || broken_) break;
        Item it = std::move(pending_.front());
        pending_.pop_front();
        msg.wire = it.wire;
        unacked_.push_back(std::move(it));
      }
      if (!stream->Write(msg)) {
        write_failed = true;
        break;
      }
    }
    // When the server ended the stream (write failed or reader done), its status says why and
    // reads finish on their own; only a local stop cancels the call.
    (void)write_failed;
    bool stopping;
    {
      absl::MutexLock l(&mu_);
      stopping = stop_;
    }
    if (stopping) ctx.TryCancel();
    reader.join();
    grpc::Status st = stream->Finish();
    {
      absl::MutexLock l(&mu_);
      ctx_ = nullptr;
    }
    // Storage full or failed on the server: the batch was not rejected; send it again later
    // (like a transport failure: backoff, then re-send from the first unacked batch).
    if (!st.ok() && ctx.GetServerTrailingMetadata().count("monoroute-retry-later") > 0) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("retrying later: ", st.error_message()));
    }
    return st;
  }

  const RecorderWriterOptions opts_;
  std::shared_ptr<grpc::Channel> channel_;
  const grpc::internal::RpcMethod record_method_;  // Record, sending PreEncodedEventBatch
  std::unique_ptr<v1::Recorder::Stub> stub_;
  // Shared with the deleters of the buffers gRPC may still hold after the writer is gone.
  std::shared_ptr<WireBufferPool> wire_pool_ = std::make_shared<WireBufferPool>();
  absl::Mutex mu_;
  std::deque<Item> pending_ ABSL_GUARDED_BY(mu_);  // not sent on the current stream
  std::deque<Item> unacked_ ABSL_GUARDED_BY(mu_);  // sent, waiting for their ack (in order)
  uint64_t queued_events_ ABSL_GUARDED_BY(mu_) = 0;
  RecorderWriterStats stats_ ABSL_GUARDED_BY(mu_);
  absl::Status rejection_ ABSL_GUARDED_BY(mu_);
  std::string last_stream_error_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* ctx_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

RecorderWriter::RecorderWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecorderWriter::~RecorderWriter() = default;

absl::StatusOr<std::unique_ptr<RecorderWriter>> RecorderWriter::Create(
    const RecorderWriterOptions& options) {
  if (options.address.empty())
    return absl::InvalidArgumentError("recorder writer: address is empty");
  if (options.writer_id.empty()) {
    return absl::InvalidArgumentError("recorder writer: writer_id is empty");
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateServiceChannel(options.address, options.tls, ChannelArgs());
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<RecorderWriter>(
      new RecorderWriter(std::make_unique<Impl>(options, std::move(*channel))));
}

absl::Status RecorderWriter::CreateRun(const RunSpecLite& spec,
                                       std::chrono::milliseconds wait_for_ready) {
  return impl_->CreateRun(spec, wait_for_ready);
}
absl::Status RecorderWriter::FinishRun(const std::string& run_id,
                                       std::chrono::milliseconds timeout) {
  return impl_->FinishRun(run_id, timeout);
}
bool RecorderWriter::Append(const events::RoutingEventView& batch) { return impl_->Append(batch); }
absl::Status RecorderWriter::Flush(std::chrono::milliseconds timeout) {
  return impl_->Flush(timeout);
}
RecorderWriterStats RecorderWriter::stats() const { return impl_->stats(); }

}  // namespace monoroute::recorder
