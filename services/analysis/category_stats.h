// Category statistics of one layer: the pathway x category routing table, its mutual
// information with the top-k ceiling, NMI, per-pathway category KL, and the label-permutation
// null (category labels permuted across token types within token-frequency strata, so category
// sizes are kept and a router that merely prefers some tokens finds no category structure).
// No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_CATEGORY_STATS_H_
#define MONOROUTE_SERVICES_ANALYSIS_CATEGORY_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/hash.h"
#include "services/analysis/routing_counts.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

// Token id -> category index (-1: no category) with the category names (any strings: story
// categories, POS tags, topics...). Copyable value; thread-compatible.
struct CategoryMap {
  std::vector<std::string> names;
  std::vector<int32_t> category_of_token;
  // Category index of `token`, -1 when none or out of range.
  int Get(uint32_t token) const {
    return token < category_of_token.size() ? category_of_token[token] : -1;
  }
};

// The categorised columns of one layer and the strata the null permutes within. Immutable.
struct CategoryLayout {
  size_t num_categories = 0;
  // Columns (of the RoutingTable) that have a category, and their observed labels.
  std::vector<uint32_t> columns;
  std::vector<int32_t> labels;
  // Strata: ranges [strata[s], strata[s + 1]) of `columns` (sorted by events) of similar
  // frequency; labels are permuted only within a stratum.
  std::vector<uint32_t> strata;
};

// Layout of `table`'s columns under `map`, cut into frequency strata of `stratum_types`
// adjacent types by frequency rank (fine log-frequency strata: types only trade labels with types
// of nearly the same frequency).
CategoryLayout MakeCategoryLayout(const RoutingTable& table, const CategoryMap& map,
                                  int stratum_types);

// Labels of layout.columns shuffled within each stratum (resized). Thread-compatible.
void PermuteLabels(const CategoryLayout& layout, Xoshiro256& rng, std::vector<int32_t>* labels);

// joint[p * C + c] = routings of pathway p to tokens labelled c (resized and overwritten).
void CategoryJoint(const RoutingCounts& counts, const CategoryLayout& layout,
                   const std::vector<int32_t>& labels, std::vector<uint64_t>* joint);

// Routing profiles of the categorised token types seen at least `min_events` times: row i (for
// layout.columns[i]) holds, per pathway, the share of the type's events whose top-k holds it.
// Types count equally, so the per-pathway category test is not dominated by a few frequent
// tokens. Rows of ineligible types are empty (`eligible[i]` false).
struct TypeProfiles {
  uint32_t num_pathways = 0;
  std::vector<double> share;  // columns.size() x P
  std::vector<bool> eligible;
};
TypeProfiles MakeTypeProfiles(const RoutingCounts& counts, const CategoryLayout& layout,
                              uint32_t top_k, uint64_t min_events);

// means[p * C + c] = mean over eligible types labelled c of their share routed to p (NaN for a
// category without eligible types), for the given labels of layout.columns.
void CategoryTypeMeans(const TypeProfiles& profiles, const CategoryLayout& layout,
                       const std::vector<int32_t>& labels, std::vector<double>* means);

// Measures of a pathway x category table.
struct CategoryMeasures {
  // I(pathway; category) over the categorised routings (nats), the entropies of the marginals,
  // and the ceiling min(H(C), H(P) - ln k): H(P | C) >= ln k because an event's k routings go to
  // k distinct pathways and share one category.
  double mi = 0.0;
  double h_pathway = 0.0;
  double h_category = 0.0;
  double ceiling = 0.0;
  // 2 I / (H(P) + H(C)) and the same at the ceiling.
  double nmi = 0.0;
  double nmi_ceiling = 0.0;
  // Per pathway: categorised routings, KL of its category distribution to the layer's.
  std::vector<uint64_t> pathway_total;
  std::vector<double> pathway_kl;
  uint64_t total = 0;
};
CategoryMeasures ComputeCategoryMeasures(const std::vector<uint64_t>& joint, uint32_t num_pathways,
                                         size_t num_categories, uint32_t top_k);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_CATEGORY_STATS_H_
