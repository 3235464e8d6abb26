// Field numbers and wire types of recorder.v1.EventBatch (proto/monoroute/recorder/v1/
// recorder.proto), shared by the hand-written encoder (event_batch_wire.cc) and parser
// (event_batch_reader.cc); event_batch_wire_test and event_batch_reader_test check both against
// the generated code.
#ifndef MONOROUTE_SERVICES_RECORDER_EVENT_BATCH_FIELDS_H_
#define MONOROUTE_SERVICES_RECORDER_EVENT_BATCH_FIELDS_H_

#include <cstdint>

namespace monoroute::recorder::event_batch_fields {

// recorder.v1.EventBatch field numbers.
enum Field : uint32_t {
  kRunId = 1,
  kWriterId = 2,
  kBatchSeq = 3,
  kSplit = 4,
  kStep = 5,
  kLayer = 6,
  kTopK = 7,
  kSequenceId = 12,
  kPosition = 13,
  kTokenId = 14,
  kNextTokenId = 15,
  kPathways = 16,
  kWeights = 17,
};

// Protobuf wire types used by EventBatch.
inline constexpr uint32_t kVarint = 0;
inline constexpr uint32_t kLengthDelimited = 2;

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "EventBatch weights are copied as little-endian fixed32"
#endif

}  // namespace monoroute::recorder::event_batch_fields

#endif  // MONOROUTE_SERVICES_RECORDER_EVENT_BATCH_FIELDS_H_
