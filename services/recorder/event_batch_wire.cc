// recorder.v1.EventBatch encoded by hand from a RoutingEventView (see event_batch_wire.h). The
// field numbers are those of proto/monoroute/recorder/v1/recorder.proto; event_batch_wire_test
// checks the bytes against the generated serializer.
#include "services/recorder/event_batch_wire.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "services/recorder/event_batch_fields.h"

namespace monoroute::recorder {
namespace {

using namespace event_batch_fields;  // NOLINT(build/namespaces): the field list

// Most bytes of a length prefix (lengths < 2^35).
constexpr size_t kMaxLengthBytes = 5;

char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

char* PutTag(char* p, uint32_t field, uint32_t wire_type) {
  return PutVarint(p, (field << 3) | wire_type);
}

// proto3: a scalar equal to its default is not written.
char* PutVarintField(char* p, uint32_t field, uint64_t v) {
  if (v == 0) return p;
  return PutVarint(PutTag(p, field, kVarint), v);
}

char* PutStringField(char* p, uint32_t field, const std::string& s) {
  if (s.empty()) return p;
  p = PutVarint(PutTag(p, field, kLengthDelimited), s.size());
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// Writes the length prefix of the payload that was written at `reserved` + kMaxLengthBytes ..
// `end`, moving the payload down when the prefix is shorter. Returns the new end.
char* ClosePacked(char* reserved, char* end) {
  char* payload = reserved + kMaxLengthBytes;
  const size_t len = static_cast<size_t>(end - payload);
  char* p = PutVarint(reserved, len);
  if (p != payload) std::memmove(p, payload, len);
  return p + len;
}

template <typename T>
char* PutPackedVarints(char* p, uint32_t field, absl::Span<const T> v) {
  if (v.empty()) return p;
  char* reserved = PutTag(p, field, kLengthDelimited);
  char* e = reserved + kMaxLengthBytes;
  for (const T x : v) e = PutVarint(e, x);
  return ClosePacked(reserved, e);
}

char* PutPackedFloats(char* p, uint32_t field, absl::Span<const float> v) {
  if (v.empty()) return p;
  p = PutVarint(PutTag(p, field, kLengthDelimited), v.size() * sizeof(float));
  std::memcpy(p, v.data(), v.size() * sizeof(float));  // fixed32, little-endian like the host
  return p + v.size() * sizeof(float);
}

}  // namespace

size_t MaxEncodedEventBatchBytes(const events::RoutingEventView& b) {
  const events::RoutingEventHeader& h = b.header;
  constexpr size_t kField = 3 + 10;  // tag + a varint or a string's length
  size_t n = 7 * kField + h.run_id.size() + h.writer_id.size() + h.split.size();
  n += 6 * (3 + kMaxLengthBytes);  // tag + length of each column
  n += 10 * b.sequence_id.size();
  n += 5 * (b.position.size() + b.token_id.size() + b.next_token_id.size() + b.pathways.size());
  n += 4 * b.weights.size();
  return n;
}

void EventBatchWire::Encode(const events::RoutingEventView& b) {
  const size_t need = MaxEncodedEventBatchBytes(b);
  if (need > capacity_) {
    buf_.reset(new char[need]);  // uninitialised: every byte up to size_ is written below
    capacity_ = need;
  }
  const events::RoutingEventHeader& h = b.header;
  char* p = buf_.get();
  p = PutStringField(p, kRunId, h.run_id);
  p = PutStringField(p, kWriterId, h.writer_id);
  p = PutVarintField(p, kBatchSeq, h.batch_id);
  p = PutStringField(p, kSplit, h.split);
  p = PutVarintField(p, kStep, h.step);
  p = PutVarintField(p, kLayer, h.layer);
  p = PutVarintField(p, kTopK, h.top_k);
  p = PutPackedVarints(p, kSequenceId, b.sequence_id);
  p = PutPackedVarints(p, kPosition, b.position);
  p = PutPackedVarints(p, kTokenId, b.token_id);
  p = PutPackedVarints(p, kNextTokenId, b.next_token_id);
  p = PutPackedVarints(p, kPathways, b.pathways);
  p = PutPackedFloats(p, kWeights, b.weights);
  size_ = static_cast<size_t>(p - buf_.get());
}

}  // namespace monoroute::recorder
