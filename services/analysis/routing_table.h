// RoutingTable: one routed layer's events in a selection, in the compact form every measure,
// null and bootstrap works on: per event a dense token column, a block (the sequence it belongs
// to) and its top-k pathway set as a bit mask. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_ROUTING_TABLE_H_
#define MONOROUTE_SERVICES_ANALYSIS_ROUTING_TABLE_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace monoroute::analysis {

// Largest number of pathways the analysis handles (a top-k set is one 64-bit mask).
inline constexpr uint32_t kMaxAnalysisPathways = 64;

// Immutable after RoutingTableBuilder::Build. Events are grouped by block: block b owns events
// [block_begin[b], block_begin[b + 1]). Thread-compatible (const use from many threads is safe).
struct RoutingTable {
  uint32_t num_pathways = 0;
  uint32_t top_k = 0;
  // Per event: dense token column in [0, column_token.size()).
  std::vector<uint32_t> column;
  // Per event: top-k set, bit p set when pathway p was selected (exactly top_k bits).
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

  size_t events() const { return column.size(); }
  size_t blocks() const { return block_key.size(); }
  size_t columns() const { return column_token.size(); }
};

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
  absl::Status Add(size_t n, const uint64_t* sequence_id, const uint32_t* token_id,
                   const uint32_t* pathways);

  // Largest number of events accepted (default: no practical bound).
  void set_max_events(uint64_t max_events) { max_events_ = max_events; }
  size_t events() const { return token_.size(); }
  uint32_t top_k() const { return top_k_; }

  // Groups events by block (blocks in first-seen order, events within a block in arrival order)
  // and maps tokens to dense columns (ascending token id). Leaves the builder empty.
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
  std::vector<uint64_t> block_keys_;
  absl::flat_hash_map<uint64_t, uint32_t> block_index_;
};

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_ROUTING_TABLE_H_
