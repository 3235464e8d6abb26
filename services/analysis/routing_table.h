// RoutingTable: one routed layer's events in a selection, in the compact form every measure,
// null and bootstrap works on: per event a dense token column, a block (the sequence it belongs
// to) and its top-k pathway set as a pathway mask (pathway_mask.h: one 64-bit word when P <= 64,
// up to four for P <= 256). No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_ROUTING_TABLE_H_
#define MONOROUTE_SERVICES_ANALYSIS_ROUTING_TABLE_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/analysis/pathway_mask.h"

namespace monoroute::analysis {

// What an event's routing can be keyed by (the "sources" of docs/analysis.md): its token, the
// token before it in its sequence, the token after it, its position, and the (previous, current)
// token pair (for I(pathway; t_i | t_{i-1}) = I(pathway; pair) - I(pathway; previous)).
enum SourceKey : int {
  kCurrentToken = 0,
  kPreviousToken = 1,
  kNextToken = 2,
  kPosition = 3,
  kPreviousAndCurrent = 4,
  kNumSourceKeys = 5,
};
// Report name of a source key ("current_token", "previous_token", "next_token", "position",
// "previous_and_current").
const char* SourceKeyName(int key);

// No token recorded (position 0 has no previous token; a next token the recorder did not store).
inline constexpr uint32_t kNoToken = ~uint32_t{0};

// Immutable after RoutingTableBuilder::Build. Events are grouped by block: block b owns events
// [block_begin[b], block_begin[b + 1]). Thread-compatible (const use from many threads is safe).
struct RoutingTable {
  uint32_t num_pathways = 0;
  uint32_t top_k = 0;
  // Words per event in `mask`: MaskWords(num_pathways).
  uint32_t mask_words = 1;
  // Per event: dense token column in [0, column_token.size()).
  std::vector<uint32_t> column;
  // Per event: its top-k set, mask_words words (pathway_mask.h; exactly top_k bits set). Event i's
  // mask starts at mask_row(i).
  std::vector<uint64_t> mask;
  // CSR over blocks (size blocks + 1).
  std::vector<uint32_t> block_begin;
  // Per block: its key, a hash of the sequence id (the window's index in its split), so equal
  // keys in two tables mean the same evaluation window: a run, its controls and another run on
  // the same data resample the same sequences in the bootstrap. A window seen at several steps
  // (training data) is one block.
  std::vector<uint64_t> block_key;
  // Per column: the token id, and its occurrences (events).
  std::vector<uint32_t> column_token;
  std::vector<uint32_t> column_events;
  // Per event: its position in its sequence (events of a block are ordered by position).
  std::vector<uint32_t> position;
  // Per event and source key other than kCurrentToken: a dense key in [0, num_keys[s]) (the
  // current token's key is `column`). "No previous / next token" is a key of its own.
  std::vector<uint32_t> source_key[kNumSourceKeys];
  uint32_t num_keys[kNumSourceKeys] = {0, 0, 0, 0, 0};

  // Keys of events under source `s` and their number.
  const uint32_t* keys(int s) const {
    return s == kCurrentToken ? column.data() : source_key[s].data();
  }
  size_t key_count(int s) const { return s == kCurrentToken ? columns() : num_keys[s]; }
  size_t events() const { return column.size(); }
  const uint64_t* mask_row(size_t i) const { return mask.data() + i * mask_words; }
  size_t blocks() const { return block_key.size(); }
  size_t columns() const { return column_token.size(); }
};

// Calls f(i, j) for each pair of an event i of block `a_block` of `a` and an event j of block
// `b_block` of `b` at the same position, in position order (a merge: events of a block are
// ordered by position in every table).
template <class F>
void ForEachSamePosition(const RoutingTable& a, uint32_t a_block, const RoutingTable& b,
                         uint32_t b_block, const F& f) {
  uint32_t i = a.block_begin[a_block], j = b.block_begin[b_block];
  const uint32_t i_end = a.block_begin[a_block + 1], j_end = b.block_begin[b_block + 1];
  while (i < i_end && j < j_end) {
    if (a.position[i] < b.position[j]) {
      ++i;
    } else if (b.position[j] < a.position[i]) {
      ++j;
    } else {
      f(i++, j++);
    }
  }
}

// Key of the block (sequence) an event belongs to.
uint64_t BlockKey(uint64_t sequence_id);

// Accumulates events (in any order, from any number of batches) and builds a RoutingTable.
// Not thread-safe.
class RoutingTableBuilder {
 public:
  // INVALID_ARGUMENT when num_pathways is 0 or > kMaxAnalysisPathways or top_k not in [1, P].
  static absl::StatusOr<RoutingTableBuilder> Create(uint32_t num_pathways, uint32_t top_k);

  // Adds n events given columnar arrays (pathways: n * top_k, row-major). INVALID_ARGUMENT naming
  // the event when a pathway is >= num_pathways or repeated within an event's top-k;
  // RESOURCE_EXHAUSTED when the table would exceed `max_events`.
  // `position` (may be null: arrival order within the sequence) and `next_token_id` (may be
  // null, or kNoToken per event: derived from the token at position + 1) as the recorder stores
  // them.
  absl::Status Add(size_t n, const uint64_t* sequence_id, const uint32_t* token_id,
                   const uint32_t* pathways, const uint32_t* position = nullptr,
                   const uint32_t* next_token_id = nullptr);

  // Largest number of events accepted (default: no practical bound).
  void set_max_events(uint64_t max_events) { max_events_ = max_events; }
  size_t events() const { return token_.size(); }
  uint32_t top_k() const { return top_k_; }

  // Groups events by block (blocks in first-seen order, events within a block by position, ties
  // in arrival order), maps tokens to dense columns (ascending token id) and derives the source
  // keys. Leaves the builder empty.
  RoutingTable Build();

 private:
  RoutingTableBuilder(uint32_t num_pathways, uint32_t top_k)
      : num_pathways_(num_pathways), top_k_(top_k) {}

  uint32_t num_pathways_;
  uint32_t top_k_;
  uint64_t max_events_ = ~uint64_t{0};
  std::vector<uint32_t> token_;
  std::vector<uint32_t> block_;
  std::vector<uint64_t> mask_;
  std::vector<uint32_t> position_;
  std::vector<uint32_t> next_;
  std::vector<uint32_t> block_events_;  // per block: events added so far (default positions)
  std::vector<uint64_t> block_keys_;
  absl::flat_hash_map<uint64_t, uint32_t> block_index_;
};

// Keys of whole sequences of `table` that every table in `others` also has, in the order of a
// hash of the key, taken while their events in `table` stay within `max_events` (0: no bound;
// at least one sequence): the same hash order in every table, so a run and its controls keep the
// same sequences.
std::vector<uint64_t> SharedSequenceKeys(const RoutingTable& table,
                                         const std::vector<const RoutingTable*>& others,
                                         uint64_t max_events);

// `table` restricted to the sequences whose keys are in `keys` (dense columns and keys rebuilt).
RoutingTable SelectSequences(const RoutingTable& table, const std::vector<uint64_t>& keys);

// SelectSequences(table, SharedSequenceKeys(table, {}, max_events)). Returns false (and leaves
// `out` alone) when `table` has no more than `max_events` events (0: no bound).
bool SubsampleBySequence(const RoutingTable& table, uint64_t max_events, RoutingTable* out);

// Fills table->source_key / num_keys from column, position and the next tokens (`next_token`
// per event, kNoToken: the token at position + 1 of the same block).
void DeriveSourceKeys(const std::vector<uint32_t>& next_token, RoutingTable* table);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_ROUTING_TABLE_H_
