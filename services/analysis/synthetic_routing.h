// Synthetic routing events with known truth, for the statistics tests and
// `monoroute bench analysis`: Zipf tokens in sequences, top-k sets that ignore the token, follow
// a per-token preference, or follow a planted per-category preference. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_SYNTHETIC_ROUTING_H_
#define MONOROUTE_SERVICES_ANALYSIS_SYNTHETIC_ROUTING_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/events/event_columns.h"
#include "services/analysis/category_stats.h"
#include "services/analysis/routing_table.h"

namespace monoroute::analysis {

// How the synthetic token stream is drawn.
enum class SyntheticTokens {
  kIid,     // independent Zipf draws
  kBigram,  // a Markov chain: each token's successor is one of `bigram_branching` tokens
            // (a fixed random choice per token) with probability 1 - bigram_noise, else Zipf
  kCopy,    // dependent within a sequence: with probability copy_prob an earlier token of the
            // sequence is repeated, else a Zipf draw
  kQuotes,  // a local state: token 0 is a quote mark that toggles "inside a quote"; inside, a
            // share quote_shift of the Zipf draws are shifted by vocab / 2 (other words); the mark
            // has probability quote_prob
};

// What the preferred routing (with probability token_preference) follows.
enum class SyntheticRouteBy {
  kCurrentToken,   // the current token's preferred set
  kPreviousToken,  // the previous token's preferred set (random at a sequence's first event)
  kLocalState,     // the quote state's set: token-blind, but the state shapes the tokens
  kFrequency,      // frequency only, smoothly: pathway p is drawn with weight
                   // exp(-(ln rank - c_p)^2 / 2 s^2), c_p spread over [0, ln vocab], s = 0.7
};

struct SyntheticRoutingOptions {
  // Events (token occurrences), cut into sequences of seq_len events.
  uint64_t events = 100000;
  uint32_t seq_len = 128;
  // Pathways and pathways per event.
  uint32_t num_pathways = 16;
  uint32_t top_k = 4;
  // Token ids drawn from [0, vocab) with Zipf exponent `zipf` (rank = id + 1).
  uint32_t vocab = 50257;
  double zipf = 1.1;
  // Probability that an event's top-k is its token's own preferred set (a fixed random k-set per
  // token id); otherwise a random set. 0: routing ignores the token.
  double token_preference = 0.0;
  // Random sets favour low pathway ids: weight of pathway p is exp(-pathway_skew * p / P)
  // (0: uniform), so loads are unequal like a real unbalanced router.
  double pathway_skew = 0.0;
  // Draw the preferred sets with the same skewed weights (a collapsed router: its token
  // preferences crowd onto the favoured pathways too).
  bool skew_preferred_sets = false;
  // Planted categories: an event whose token has category c < planted_categories uses the set
  // {c*k mod P, ...} (k consecutive pathways starting at c*k) with probability category_preference.
  const CategoryMap* categories = nullptr;
  uint32_t planted_categories = 0;
  double category_preference = 0.0;
  // Seed of the events' draws.
  uint64_t seed = 1;
  // Seed of the model: each token's preferred set (fixed while `seed` varies the sample).
  uint64_t model_seed = 1;
  // The token stream and what the preferred routing follows (see the enums).
  SyntheticTokens tokens = SyntheticTokens::kIid;
  SyntheticRouteBy route_by = SyntheticRouteBy::kCurrentToken;
  uint32_t bigram_branching = 3;
  double bigram_noise = 0.1;
  double copy_prob = 0.3;
  double quote_prob = 0.05;
  double quote_shift = 0.5;
};

// Events as the recorder would stream them for one layer: next_token_id is the stream's next
// token (0 after the last event), every weight 1 / top_k.
using SyntheticEvents = events::EventColumns;

// Token `token`'s preferred k-set under `model_seed` (what token_preference routes to).
std::vector<uint32_t> SyntheticPreferredSet(uint64_t model_seed, uint32_t token,
                                            uint32_t num_pathways, uint32_t top_k);

// Generates the events; deterministic given the options. INVALID_ARGUMENT for bad sizes.
absl::StatusOr<SyntheticEvents> GenerateSyntheticEvents(const SyntheticRoutingOptions& options);

// The events as a RoutingTable.
absl::StatusOr<RoutingTable> SyntheticRoutingTable(const SyntheticRoutingOptions& options);

// `table` with every event's top-k set replaced by a fixed k-set chosen by a hash of its key
// under `source` (kCurrentToken: the token; kPreviousToken: the previous token): the synthetic
// controls of docs/analysis.md. Thread-safe.
RoutingTable HashRouting(const RoutingTable& table, int source, uint64_t seed);

// Token categories assigned uniformly at random (unrelated to any routing): each of the first
// `vocab` ids gets one of `num_categories` names "c0", "c1", ... with probability
// `labelled_share`, else none.
CategoryMap RandomCategories(uint32_t vocab, uint32_t num_categories, double labelled_share,
                             uint64_t seed);

// Normalised Zipf probabilities of ids [0, vocab) (rank = id + 1).
std::vector<double> ZipfProbabilities(uint32_t vocab, double exponent);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_SYNTHETIC_ROUTING_H_
