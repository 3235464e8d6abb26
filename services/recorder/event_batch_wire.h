// The wire bytes of a recorder.v1.EventBatch written straight from a routing-event view: one pass
// over the columns, no intermediate protobuf message (RecorderWriter's send path). The bytes are
// exactly what v1::EventBatch::SerializeAsString() gives for the same batch, so every v1 reader
// parses them.
#ifndef MONOROUTE_SERVICES_RECORDER_EVENT_BATCH_WIRE_H_
#define MONOROUTE_SERVICES_RECORDER_EVENT_BATCH_WIRE_H_

#include <cstddef>
#include <memory>

#include "common/events/routing_event_batch.h"

namespace monoroute::recorder {

// A reusable buffer holding one encoded EventBatch. Encoding again reuses its memory (grown only
// when a batch needs more), so a writer that recycles buffers touches no fresh pages per batch.
class EventBatchWire {
 public:
  // The encoded bytes (valid until the next Encode).
  const char* data() const { return buf_.get(); }
  // Number of encoded bytes.
  size_t size() const { return size_; }
  // Bytes the buffer can hold without growing.
  size_t capacity() const { return capacity_; }

  // Replaces the contents with the encoding of `b` (fields in field-number order, defaults
  // omitted, columns packed: the protobuf encoding of v1::EventBatch).
  void Encode(const events::RoutingEventView& b);

 private:
  std::unique_ptr<char[]> buf_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Upper bound of the encoded size of `b` (what Encode reserves).
size_t MaxEncodedEventBatchBytes(const events::RoutingEventView& b);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_EVENT_BATCH_WIRE_H_
