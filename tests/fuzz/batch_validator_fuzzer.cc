// libFuzzer target: the recorder's run spec and event batch validation
// (services/recorder/batch_validator: ValidateRunSpec, ValidateBatch), the gate before anything
// is written to RocksDB. The input is decoded by ByteReader (format below; missing bytes read as
// zero) into a RunSpecData and an events::RoutingEventBatch, validated through its read-only
// view. Properties: no crash or sanitizer report, and an accepted batch really satisfies every
// rule the store relies on, checked here independently: 1..max_events events, columns of equal
// length, top_k = the run's, pathways = events x top_k, its layer routed (and layer_idx pointing
// at it), token ids < vocab_size, pathways < num_pathways and distinct within one event's top-k,
// weights finite and within +-kMaxAbsWeight.
//
// Input format (little-endian):
//   u8 run_id length, run_id | u8 n layers, n x u8 layer | u16 num_pathways | u16 top_k |
//   u32 vocab_size | u8 flags (bit 0: store_raw_events) | u8 writer length, writer_id |
//   u8 split length, split | u8 max_events | u8 k (the batch's top_k) |
//   u8 column damage (bit i: column i one entry short) | events until the input ends, each:
//   u8 layer (< 128: index into the routed layers, else the raw value - 128), u16 token,
//   u16 next token, u8 step, k x (u8 pathway, u8 weight code). The batch's layer and step are the
//   first event's (the header holds one of each); the other events' layer and step bytes are
//   read and ignored.
//   Weight codes: 0..200 -> (code - 100) / 10; 251 NaN; 252 +inf; 253 -inf; 254 2e6; others 1.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "common/events/routing_event_batch.h"
#include "services/recorder/batch_validator.h"
#include "services/recorder/recorder_types.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using monoroute::events::RoutingEventBatch;
using monoroute::recorder::RunSpecData;

// Sequential little-endian reader; reads past the end give zeros.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint64_t U(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= static_cast<uint64_t>(pos_ < size_ ? data_[pos_++] : 0) << (8 * i);
    return v;
  }
  std::string Str() {
    const size_t n = U(1);
    std::string s;
    for (size_t i = 0; i < n && pos_ < size_; ++i) s.push_back(static_cast<char>(data_[pos_++]));
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

float Weight(uint8_t code) {
  if (code <= 200) return (static_cast<int>(code) - 100) / 10.0f;
  switch (code) {
    case 251:
      return std::numeric_limits<float>::quiet_NaN();
    case 252:
      return std::numeric_limits<float>::infinity();
    case 253:
      return -std::numeric_limits<float>::infinity();
    case 254:
      return 2e6f;
    default:
      return 1.0f;
  }
}

template <typename T>
void Damage(std::vector<T>* v, bool cut) {
  if (cut && !v->empty()) v->pop_back();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  RunSpecData spec;
  spec.run_id = in.Str();
  const size_t n_layers = in.U(1);
  for (size_t i = 0; i < n_layers; ++i) spec.routed_layers.push_back(in.U(1));
  spec.num_pathways = in.U(2);
  spec.top_k = in.U(2);
  spec.vocab_size = in.U(4);
  spec.store_raw_events = in.U(1) & 1;
  RunSpecData normalised;
  if (!monoroute::recorder::ValidateRunSpec(spec, &normalised).ok()) return 0;
  const auto run = monoroute::recorder::RunLayout::From(normalised);

  RoutingEventBatch b;
  b.header.run_id = spec.run_id;
  b.header.writer_id = in.Str();
  b.header.split = in.Str();
  const size_t max_events = in.U(1);
  const size_t k = in.U(1);
  b.header.top_k = static_cast<uint32_t>(k);
  const uint64_t damage = in.U(1);
  bool first = true;
  while (!in.done()) {
    const uint64_t l = in.U(1);
    const uint32_t layer = l < 128 ? spec.routed_layers[l % spec.routed_layers.size()]
                                   : static_cast<uint32_t>(l - 128);
    b.token_id.push_back(in.U(2));
    b.next_token_id.push_back(in.U(2));
    const uint64_t step = in.U(1);
    if (first) {
      b.header.layer = layer;
      b.header.step = step;
      first = false;
    }
    b.sequence_id.push_back(b.token_id.size());
    b.position.push_back(b.token_id.size() % 7);
    for (size_t j = 0; j < k; ++j) {
      b.pathways.push_back(in.U(1));
      b.weights.push_back(Weight(in.U(1)));
    }
  }
  if (damage & 1) b.header.top_k += 1;
  Damage(&b.token_id, damage & 2);
  Damage(&b.next_token_id, damage & 4);
  Damage(&b.sequence_id, damage & 8);
  Damage(&b.position, damage & 16);
  Damage(&b.pathways, damage & 32);
  Damage(&b.weights, damage & 64);

  uint8_t layer_idx = 0;
  if (!monoroute::recorder::ValidateBatch(run, b.view(), max_events, &layer_idx).ok()) return 0;

  // Accepted: check every rule independently.
  const size_t n = b.token_id.size();
  const size_t top_k = normalised.top_k;
  FUZZ_CHECK(n >= 1 && n <= max_events, "%zu events accepted (max %zu)", n, max_events);
  FUZZ_CHECK(b.next_token_id.size() == n && b.sequence_id.size() == n && b.position.size() == n,
             "column lengths differ");
  FUZZ_CHECK(b.header.top_k == top_k, "top_k %u accepted for a run of top_k %zu", b.header.top_k,
             top_k);
  FUZZ_CHECK(b.pathways.size() == n * top_k && b.weights.size() == n * top_k,
             "%zu pathways / %zu weights for %zu events x top_k %zu", b.pathways.size(),
             b.weights.size(), n, top_k);
  FUZZ_CHECK(!b.header.writer_id.empty(), "empty writer id accepted");
  FUZZ_CHECK(layer_idx < normalised.routed_layers.size() &&
                 normalised.routed_layers[layer_idx] == b.header.layer,
             "layer %u not routed or mis-indexed", b.header.layer);
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(b.token_id[i] < normalised.vocab_size && b.next_token_id[i] < normalised.vocab_size,
               "event %zu: token id out of range", i);
    std::set<uint32_t> seen;
    for (size_t j = i * top_k; j < (i + 1) * top_k; ++j) {
      FUZZ_CHECK(b.pathways[j] < normalised.num_pathways, "pathways[%zu] = %u out of range", j,
                 b.pathways[j]);
      FUZZ_CHECK(seen.insert(b.pathways[j]).second, "event %zu: pathway %u repeated in its top-k",
                 i, b.pathways[j]);
      FUZZ_CHECK(std::isfinite(b.weights[j]) &&
                     std::fabs(b.weights[j]) <= monoroute::recorder::kMaxAbsWeight,
                 "weights[%zu] = %g accepted", j, b.weights[j]);
    }
  }
  return 0;
}
