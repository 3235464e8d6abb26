// EventBatchReader: parses the wire bytes of one recorder.v1.EventBatch into columns it keeps and
// reuses (the recorder's Record path: no protobuf message, no per-batch allocation once the
// columns have grown to the stream's batch size). Canonically encoded batches (what
// EventBatchWire and the generated serializer write: known fields, packed columns) take a
// one-pass fast path; anything else (unknown fields, unpacked columns, odd varints, non-ASCII
// strings) is handed to the generated parser, so the result is exactly what
// v1::EventBatch::ParseFromArray + ViewOf give for the same bytes, and bytes it rejects are
// rejected. Thread-compatible (one reader per stream).
#ifndef MONOROUTE_SERVICES_RECORDER_EVENT_BATCH_READER_H_
#define MONOROUTE_SERVICES_RECORDER_EVENT_BATCH_READER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/events/routing_event_batch.h"
#include "monoroute/recorder/v1/recorder.pb.h"

namespace monoroute::recorder {

// A growable array whose growth leaves new elements uninitialised (every element up to size()
// is written by the parser before it is read), reused across batches.
template <typename T>
class WireColumn {
 public:
  // The elements.
  absl::Span<const T> span() const { return absl::MakeConstSpan(data_.get(), size_); }
  // Makes room for `n` more elements and returns where they go; commit them with Commit.
  T* Reserve(size_t n) {
    if (size_ + n > capacity_) {
      const size_t cap = std::max(size_ + n, 2 * capacity_);
      std::unique_ptr<T[]> grown(new T[cap]);
      std::copy(data_.get(), data_.get() + size_, grown.get());
      data_ = std::move(grown);
      capacity_ = cap;
    }
    return data_.get() + size_;
  }
  // Marks the elements up to `end` (inside the last Reserve) as written.
  void Commit(const T* end) { size_ = static_cast<size_t>(end - data_.get()); }
  // Empties the column (keeps its memory).
  void Clear() { size_ = 0; }

 private:
  std::unique_ptr<T[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Parses EventBatch wire bytes; see the file comment.
class EventBatchReader {
 public:
  // Replaces the parsed batch with the one encoded in `bytes`. INVALID_ARGUMENT ("EventBatch:
  // malformed wire bytes (N bytes)") when the generated parser would reject them.
  absl::Status Parse(absl::string_view bytes);
  // The parsed batch (valid until the next Parse).
  const events::RoutingEventView& view() const { return view_; }
  // Whether the last Parse needed the generated parser (a test and benchmark hook).
  bool used_generic_parser() const { return used_generic_; }

 private:
  // The one-pass parse of a canonical encoding; false when the bytes need the generated parser.
  bool ParseCanonical(const char* p, const char* end);
  // Parses a length-delimited field `field` of `len` bytes at `p`; false: not canonical.
  bool ParseLengthDelimited(uint32_t field, const char* p, size_t len);
  // Points view_'s columns at the reader's own columns.
  void ViewColumns();

  events::RoutingEventView view_;
  WireColumn<uint64_t> sequence_id_;
  WireColumn<uint32_t> position_, token_id_, next_token_id_, pathways_;
  WireColumn<float> weights_;
  std::unique_ptr<v1::EventBatch> generic_;  // the generated parser's message, when needed
  bool used_generic_ = false;
};

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_EVENT_BATCH_READER_H_
