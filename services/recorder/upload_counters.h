// UploadCounters: what became of the routing events given to a RecorderWriter (enqueued, acked,
// dropped, batches acked, duplicate acks). One type for the writer's statistics
// (RecorderWriterStats adds its stream reconnects) and a trainer job's upload counters
// (trainer::JobEventStats, summed over the job's attempts and ranks), with one field list that
// their JSON, the trainer's proto `EventStats` and their sums walk. Plain data, no gRPC.
#ifndef MONOROUTE_SERVICES_RECORDER_UPLOAD_COUNTERS_H_
#define MONOROUTE_SERVICES_RECORDER_UPLOAD_COUNTERS_H_

#include <cstdint>
#include <type_traits>

namespace monoroute::recorder {

// Monotonic counters of an event upload.
struct UploadCounters {
  uint64_t events_enqueued = 0;  // events accepted into the writer's queue
  uint64_t events_acked = 0;     // events of acked batches: durable (duplicates included)
  uint64_t events_dropped = 0;   // events dropped: queue full, recorder unavailable or rejecting
  uint64_t batches_acked = 0;    // batches acknowledged
  uint64_t duplicate_acks = 0;   // acks saying "already applied" (a re-send: lost ack, resume)

  // Adds `o` field by field (a job's attempts, a data-parallel job's ranks).
  UploadCounters& operator+=(const UploadCounters& o);
};

// One field of UploadCounters: its name (the JSON key and the proto field's name) and member.
struct UploadCounterField {
  const char* name;
  uint64_t UploadCounters::*member;
};

// Every field of UploadCounters, in declaration order: the one list of its fields.
inline constexpr UploadCounterField kUploadCounterFields[] = {
    {"events_enqueued", &UploadCounters::events_enqueued},
    {"events_acked", &UploadCounters::events_acked},
    {"events_dropped", &UploadCounters::events_dropped},
    {"batches_acked", &UploadCounters::batches_acked},
    {"duplicate_acks", &UploadCounters::duplicate_acks},
};

// Visits every field as v(name, member), in the order of kUploadCounterFields (the field-list
// protocol of common/service/proto_fields.h). `S` is UploadCounters, const or not.
template <typename S, typename V>
std::enable_if_t<std::is_same_v<std::remove_const_t<S>, UploadCounters>> VisitFields(S& s, V& v) {
  for (const UploadCounterField& f : kUploadCounterFields) v(f.name, s.*f.member);
}

inline UploadCounters& UploadCounters::operator+=(const UploadCounters& o) {
  for (const UploadCounterField& f : kUploadCounterFields) this->*f.member += o.*f.member;
  return *this;
}

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_UPLOAD_COUNTERS_H_
