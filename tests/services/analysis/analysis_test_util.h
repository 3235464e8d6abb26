// Shared fixtures of the analysis tests: synthetic routing settings that more than one suite
// analyses (the known truth is in services/analysis/synthetic_routing.h). Header-only.
#ifndef MONOROUTE_TESTS_SERVICES_ANALYSIS_ANALYSIS_TEST_UTIL_H_
#define MONOROUTE_TESTS_SERVICES_ANALYSIS_ANALYSIS_TEST_UTIL_H_

#include "services/analysis/synthetic_routing.h"

namespace monoroute::analysis {

// Bigram text (30 tokens, Zipf 1.0, two successors per token, 10% noise) in 100,000 events of
// sequences of 64, routed to the preferred set with probability 0.7; route_by left to the test.
inline SyntheticRoutingOptions BigramText() {
  SyntheticRoutingOptions so;
  so.events = 100000;
  so.seq_len = 64;
  so.vocab = 30;
  so.zipf = 1.0;
  so.tokens = SyntheticTokens::kBigram;
  so.bigram_branching = 2;
  so.bigram_noise = 0.1;
  so.token_preference = 0.7;
  return so;
}

}  // namespace monoroute::analysis

#endif  // MONOROUTE_TESTS_SERVICES_ANALYSIS_ANALYSIS_TEST_UTIL_H_
