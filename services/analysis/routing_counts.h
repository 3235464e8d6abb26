// Dense token-by-pathway routing counts of a RoutingTable, optionally with per-block bootstrap
// weights and permuted top-k sets: the one counting kernel behind the observed measures, the
// null replicates and the bootstrap replicates. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_ROUTING_COUNTS_H_
#define MONOROUTE_SERVICES_ANALYSIS_ROUTING_COUNTS_H_

#include <cstdint>
#include <vector>

#include "common/base/hash.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

// cell(c, p) = routings of token column c to pathway p (each event adds its weight to each of its
// k pathways). A value type; reused across replicates to avoid reallocation.
struct RoutingCounts {
  uint32_t num_pathways = 0;
  // columns x num_pathways, row-major by column.
  std::vector<uint32_t> cells;
  // Per column: routings (= weighted events x top_k).
  std::vector<uint64_t> column_total;
  // Per pathway: routings (load).
  std::vector<uint64_t> load;
  // Sum of all cells.
  uint64_t total = 0;

  uint32_t cell(size_t column, uint32_t p) const { return cells[column * num_pathways + p]; }
  size_t columns() const { return column_total.size(); }
};

// Counts `table` into `out` (resized and overwritten). `block_weight` (one per block, may be null
// = all 1) multiplies each event of a block. Thread-compatible.
void CountRoutings(const RoutingTable& table, const uint32_t* block_weight, RoutingCounts* out);

// The routing null: counts `table` with its top-k sets shuffled across the events of each block
// (Fisher-Yates with `rng`), so every event keeps k distinct pathways, every block its multiset
// of sets and of tokens, and the token <-> set link is broken. `block_weight` as above.
void CountPermutedRoutings(const RoutingTable& table, const uint32_t* block_weight, Xoshiro256& rng,
                           RoutingCounts* out);

// The top-k sets of `table` shuffled across the events of each block (the same Fisher-Yates draws
// as CountPermutedRoutings), so one permutation can be counted under several source keys. `masks`
// has table.mask's layout (table.mask_words words per event).
void PermuteMasks(const RoutingTable& table, Xoshiro256& rng, std::vector<uint64_t>* masks);

// Counts routings keyed by source `key` (RoutingTable::keys) with the given per-event top-k sets
// (`masks`: table.mask or a PermuteMasks result, table.mask_words words per event) and optional
// block weights; columns of `out` are the source's keys.
void CountKeyed(const RoutingTable& table, int key, const uint64_t* masks,
                const uint32_t* block_weight, RoutingCounts* out);

// Fills out->column_total, load and total from out->cells (num_pathways and the column count
// set).
void FinishCounts(RoutingCounts* out);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_ROUTING_COUNTS_H_
