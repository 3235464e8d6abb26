// BoundedWriteReactor: a server-streaming gRPC reactor fed through a small bounded queue by a
// producer running on a WorkerPool thread. The reactor writes one message at a time
// (StartWrite / OnWriteDone); the producer blocks on its own thread (never inside a reaction)
// while the queue is full, and learns from Push returning false that the client went away or the
// server is shutting down (OnCancel, or a failed write), so it can stop early.
//
// Lifetime: gRPC owns the reactor, which deletes itself in OnDone. Finish is called only after
// the producer has returned, so the reactor outlives the producer's last use of it; the queue,
// flags and mutex live in a State shared (shared_ptr) by the reactor and the producer task, so
// neither side touches freed memory whichever finishes last.
#ifndef MONOROUTE_SERVICES_RECORDER_STREAM_REACTOR_H_
#define MONOROUTE_SERVICES_RECORDER_STREAM_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/service/grpc_status.h"
#include "services/recorder/worker_pool.h"

namespace monoroute::recorder {

template <typename T>
class BoundedWriteReactor final : public grpc::ServerWriteReactor<T> {
 public:
  // Queues one message for sending; blocks while `capacity` messages are queued or in flight.
  // Returns false once the stream is cancelled: the producer should return (its status is then
  // ignored).
  using Push = std::function<bool(T&&)>;
  // Produces the stream's messages through `push`, on a pool thread; the returned status ends
  // the stream after the queued messages were sent.
  using Producer = std::function<absl::Status(const Push& push)>;

  // Creates a reactor and submits `producer` to `pool` (which must outlive the task). Return the
  // reactor from the RPC method; gRPC owns it.
  static BoundedWriteReactor* Start(WorkerPool* pool, size_t capacity, Producer producer) {
    auto* r = new BoundedWriteReactor(capacity);
    pool->Submit(
        [r, state = r->state_, producer = std::move(producer)] { r->Produce(state, producer); });
    return r;
  }

  // A reactor that ends the call with `status` right away (no producer).
  static BoundedWriteReactor* Failed(grpc::Status status) {
    auto* r = new BoundedWriteReactor(1);
    {
      absl::MutexLock l(&r->state_->mu);
      r->state_->producer_done = r->state_->finished = true;
    }
    r->Finish(std::move(status));
    return r;
  }

  void OnWriteDone(bool ok) override {
    const T* next = nullptr;
    bool finish = false;
    grpc::Status st;
    {
      absl::MutexLock l(&state_->mu);
      state_->queue.pop_front();
      if (!ok) state_->cancelled = true;  // the client is gone
      if (state_->cancelled) {
        state_->queue.clear();
        state_->writing = false;
      } else if (!state_->queue.empty()) {
        next = &state_->queue.front();
      } else {
        state_->writing = false;
      }
      finish = ReadyToFinish(*state_, &st);
    }
    if (next != nullptr) this->StartWrite(next);
    if (finish) this->Finish(st);
  }

  // Client cancel, deadline or server shutdown: wakes a producer blocked in Push.
  void OnCancel() override {
    bool finish = false;
    grpc::Status st;
    {
      absl::MutexLock l(&state_->mu);
      state_->cancelled = true;
      if (!state_->writing) state_->queue.clear();
      finish = ReadyToFinish(*state_, &st);
    }
    if (finish) this->Finish(st);
  }

  void OnDone() override { delete this; }

 private:
  struct State {
    explicit State(size_t cap) : capacity(std::max<size_t>(1, cap)) {}
    absl::Mutex mu;
    const size_t capacity;
    std::deque<T> queue ABSL_GUARDED_BY(mu);  // front is being written while `writing`
    bool writing ABSL_GUARDED_BY(mu) = false;
    bool cancelled ABSL_GUARDED_BY(mu) = false;
    bool producer_done ABSL_GUARDED_BY(mu) = false;
    bool finished ABSL_GUARDED_BY(mu) = false;  // Finish was (about to be) called
    grpc::Status status ABSL_GUARDED_BY(mu);    // the producer's result
  };

  explicit BoundedWriteReactor(size_t capacity) : state_(std::make_shared<State>(capacity)) {}

  // True exactly once: when the producer is done and nothing is being written; sets the status.
  static bool ReadyToFinish(State& s, grpc::Status* st) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    if (s.finished || !s.producer_done || s.writing) return false;
    if (!s.cancelled && !s.queue.empty()) return false;
    s.finished = true;
    *st = s.cancelled ? grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled") : s.status;
    return true;
  }

  bool PushOne(State& s, T&& msg) {
    const T* to_write = nullptr;
    {
      absl::MutexLock l(&s.mu);
      auto has_room = [&s]() {
        s.mu.AssertHeld();
        return s.cancelled || s.queue.size() < s.capacity;
      };
      s.mu.Await(absl::Condition(&has_room));
      if (s.cancelled) return false;
      s.queue.push_back(std::move(msg));  // deque: the front's address stays valid
      if (!s.writing) {                   // then the queue was empty: the front is `msg`
        s.writing = true;
        to_write = &s.queue.front();
      }
    }
    if (to_write != nullptr) this->StartWrite(to_write);
    return true;
  }

  // Runs on the pool. `this` stays valid until this function calls Finish (nobody else can).
  void Produce(const std::shared_ptr<State>& state, const Producer& producer) {
    bool cancelled;
    {
      absl::MutexLock l(&state->mu);
      cancelled = state->cancelled;
    }
    absl::Status status;
    if (!cancelled) {
      State* s = state.get();
      status = producer([this, s](T&& m) { return PushOne(*s, std::move(m)); });
    }
    bool finish = false;
    grpc::Status st;
    {
      absl::MutexLock l(&state->mu);
      state->producer_done = true;
      state->status = ToGrpcStatus(status);
      finish = ReadyToFinish(*state, &st);
    }
    if (finish) this->Finish(st);  // last use of `this`: it may be deleted right after
  }

  std::shared_ptr<State> state_;
};

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_STREAM_REACTOR_H_
