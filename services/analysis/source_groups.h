// SourceGroups: the layout of a table's events by source key that the token-pair source and the
// two conditional nulls are counted on. It depends only on the table's keys (not on its top-k
// sets), so a table and its synthetic hash controls share one. The token pair has nearly as many
// values as there are events, so its groups are laid out nested inside the groups of the
// previous (or current) token: a conditional null shuffles top-k sets within those outer groups
// and the pair's sums are then counted with every access inside one outer group (no gather over
// the whole table per replicate). No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_SOURCE_GROUPS_H_
#define MONOROUTE_SERVICES_ANALYSIS_SOURCE_GROUPS_H_

#include <cstdint>
#include <vector>

#include "common/base/hash.h"
#include "services/analysis/measures.h"
#include "services/analysis/routing_counts.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

// Events grouped by one source key: `order` lists events by key (ties: event order), group g
// being order[begin[g], begin[g + 1]).
struct KeyGroups {
  std::vector<uint32_t> order;
  std::vector<uint32_t> begin;
};
KeyGroups GroupByKey(const RoutingTable& table, int key);

// The token-pair groups nested inside the groups of `outer_key` (kPreviousToken or
// kCurrentToken). "Outer positions" index `outer.order`; a buffer "in outer order" holds one
// value per outer position. Depends on the table's keys only, not on its top-k sets.
struct NestedPairGroups {
  int outer_key = kPreviousToken;
  KeyGroups outer;
  // The block of each outer position.
  std::vector<uint32_t> outer_block;
  // Pair groups in (outer key, other token) order: pair group g covers inner positions
  // [inner_begin[g], inner_begin[g + 1]), inner position j being outer position inner_pos[j]
  // (always inside one outer group).
  std::vector<uint32_t> inner_begin;
  std::vector<uint32_t> inner_pos;
};

// The layouts of one table, valid for every table with the same events and keys (a HashRouting
// of it). Immutable once built; const use from many threads is safe.
struct SourceGroups {
  // Built with the sources (else only by_current.outer and its masks and blocks).
  bool sources = false;
  // Pair groups inside current-token groups (for I(P; t_{i-1} | t_i)); by_current.outer groups
  // events by current token.
  NestedPairGroups by_current;
  // Pair groups inside previous-token groups (for I(P; t_i | t_{i-1}) and the pair's own sums).
  NestedPairGroups by_previous;
  // Events by next token.
  KeyGroups next;
  // The events grouped by kCurrentToken, kPreviousToken or kNextToken.
  const KeyGroups& ByKey(int key) const;
};
SourceGroups MakeSourceGroups(const RoutingTable& table, bool sources);

// The sufficient sums of a source's KL and MI (measures.h PathwaySums, loads, total), counted
// group by group without a key x pathway matrix.
struct GroupSums {
  PathwaySums sums;
  std::vector<uint64_t> load;
  uint64_t total = 0;
};

// A key's sums (and, with min_routings > 0, the token specialisation of ComputeTokenSpecialisation
// over keys with at least min_routings routings, without per-token details) counted key by key
// from event-order top-k sets `masks` (MaskWords(num_pathways) words per event, as in
// RoutingTable::mask) and per-event weights `event_weight` (null: 1): the same
// doubles as ComputePathwaySums / ComputeTokenSpecialisation over CountKeyed's counts, without a
// key x pathway matrix.
void CountKeySums(const KeyGroups& groups, const uint64_t* masks, const uint32_t* event_weight,
                  uint32_t num_pathways, uint32_t top_k, uint64_t min_routings, GroupSums* out,
                  TokenSpecialisation* specialisation);

// The pair's sums with top-k sets `outer_masks` (in outer order: a GatherOuter or
// ShuffleWithinOuter result) and per-block weights `block_weight` (null: 1).
void CountPairSums(const NestedPairGroups& groups, const uint64_t* outer_masks,
                   const uint32_t* block_weight, uint32_t num_pathways, uint32_t top_k,
                   GroupSums* out);

// Routings keyed by the outer key (columns: its keys) with top-k sets in outer order and block
// weights (null: 1): what CountKeyed(table, outer_key, ...) gives for the same events.
void CountOuterKeyed(const NestedPairGroups& groups, const uint64_t* outer_masks,
                     const uint32_t* block_weight, uint32_t num_pathways, RoutingCounts* out);

// `base` (top-k sets of `mask_words` words in outer order, e.g. GatherOuter of table.mask)
// shuffled within every outer group (Fisher-Yates with `rng`, group by group): the conditional
// null's top-k sets, in outer order (resized).
void ShuffleWithinOuter(const NestedPairGroups& groups, uint32_t mask_words,
                        const std::vector<uint64_t>& base, Xoshiro256& rng,
                        std::vector<uint64_t>* out);

// Any event-order top-k sets `masks` (`mask_words` words each) gathered into outer order
// (resized).
void GatherOuter(const NestedPairGroups& groups, uint32_t mask_words, const uint64_t* masks,
                 std::vector<uint64_t>* out);

// KL per pathway and MI from a source's sums (as PathwayKl / MutualInformation do from counts);
// NaN where undefined.
void KlFromSums(const GroupSums& sums, std::vector<double>* kl, double* mi);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_SOURCE_GROUPS_H_
