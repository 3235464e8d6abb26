// The per-pathway category enrichment test of one layer (a max-T label-permutation test over
// token types, labels permuted within fine frequency strata) and the label null's levels of the
// category MI and per-pathway category KL. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_CATEGORY_TEST_H_
#define MONOROUTE_SERVICES_ANALYSIS_CATEGORY_TEST_H_

#include <cstdint>
#include <vector>

#include "services/analysis/analysis_options.h"
#include "services/analysis/category_stats.h"
#include "services/analysis/effect_driver.h"
#include "services/analysis/routing_counts.h"

namespace monoroute::analysis {

// Result of the test; vectors have one entry per pathway, NaN / -1 where untested.
struct CategoryTestResult {
  // Permutations run (0: no test).
  int permutations = 0;
  // The label null's mean category MI and per-pathway category KL.
  LabelNull null;
  // Permutation p-value of the pathway's largest standardised enrichment, the category reaching
  // it (-1: none) and its enrichment (the category's mean type share routed here over the same
  // mean for frequency-matched types: its label-permutation mean).
  std::vector<double> p_value;
  std::vector<int> best_category;
  std::vector<double> enrichment;
};

// Runs the test on the observed token counts `counts` of a layer with top-k `top_k`. Seeded by
// (options.seed, layer). Thread-safe.
CategoryTestResult RunCategoryTest(const RoutingCounts& counts, const CategoryLayout& layout,
                                   uint32_t top_k, const AnalysisOptions& options, uint32_t layer);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_CATEGORY_TEST_H_
