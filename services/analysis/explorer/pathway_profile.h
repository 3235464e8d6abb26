// What a pathway page shows, computed from a run's raw events: top contexts with the routed token
// highlighted, contexts in gate-weight quantile groups, the gate histogram, tokens and next tokens
// by lift, co-activation partners in the same and the next routed layer against a load-matched
// null, load against uniform and the mean gate. No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_PROFILE_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_PROFILE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/explorer/pathway_ablation.h"
#include "services/analysis/explorer/pathway_logits.h"
#include "services/analysis/explorer/run_events.h"

namespace monoroute::analysis::explorer {

// Token id -> its text (e.g. " dragon"); may be empty (then "#<id>" is shown).
using Decoder = std::function<std::string(uint32_t)>;

struct ExplorerOptions {
  // Tokens shown on each side of the routed token in a context.
  int context_tokens = 8;
  // Contexts with the highest gate shown at the top of the page.
  int top_contexts = 20;
  // Gate-weight quantile groups (equal numbers of events) and examples shown per group.
  int quantile_groups = 5;
  int examples_per_group = 4;
  // Bins of the gate histogram over [0, 1].
  int histogram_bins = 20;
  // Rows of each token table (by lift, by next token).
  int top_tokens = 20;
  // A token enters a lift table only when it occurs at least this often in the layer and at
  // least twice in the pathway (rarer tokens give huge, meaningless lifts).
  uint32_t min_token_count = 5;
  // Replicates of the within-sequence permutation null of the next-layer partners.
  int null_replicates = 8;
  // Seed of that null.
  uint64_t seed = 1;
  // Rows of each logit table (raised, lowered).
  int logit_top_n = 10;
  // Longest prefix (tokens up to the routed one) run through the checkpoint per context.
  uint32_t logit_prefix_tokens = 128;
};

// One token of a context.
struct ContextToken {
  uint32_t token_id = 0;
  std::string text;
  // This pathway's gate on the token (0 when it did not select the pathway).
  float gate = 0.0f;
};

// A routed token in its sequence.
struct Context {
  uint64_t sequence_id = 0;
  uint32_t position = 0;
  // The pathway's gate on the routed token and its rank in the token's top-k (1 = highest).
  float gate = 0.0f;
  int rank = 0;
  // The other pathways of the token's top-k, in rank order.
  std::vector<uint32_t> co_selected;
  uint32_t next_token_id = 0;
  std::string next_text;
  // Up to context_tokens tokens before, the routed token, up to context_tokens after.
  std::vector<ContextToken> tokens;
  // Index of the routed token in `tokens`.
  size_t routed_index = 0;
};

// Events whose gate lies in [gate_low, gate_high] (one quantile group) and a few examples.
struct QuantileGroup {
  double quantile_low = 0.0;
  double quantile_high = 0.0;
  double gate_low = 0.0;
  double gate_high = 0.0;
  uint64_t events = 0;
  std::vector<Context> examples;
};

// Counts of gate values in equal bins over [low, high].
struct Histogram {
  double low = 0.0;
  double high = 1.0;
  std::vector<uint64_t> counts;
};

// A token (or next token) over-represented in the pathway.
struct TokenLift {
  uint32_t token_id = 0;
  std::string text;
  // Events of the token selecting the pathway, and its events in the layer.
  uint64_t count_in_pathway = 0;
  uint64_t count_in_layer = 0;
  // count_in_pathway / load and count_in_layer / layer events; lift = their ratio.
  double share_in_pathway = 0.0;
  double share_in_layer = 0.0;
  double lift = 0.0;
};

// A pathway selected together with this one more (or less) often than its null says.
struct Partner {
  uint32_t layer = 0;
  uint32_t pathway = 0;
  // Tokens selecting both, and the null's expectation; lift = together / expected.
  uint64_t together = 0;
  double expected = 0.0;
  double lift = 0.0;
};

// The pathway's load in one step bucket of the recorded events (duplicates included).
struct LoadBucket {
  uint64_t step_low = 0;
  uint64_t step_high = 0;
  // Events (tokens) of the layer in the bucket, and those selecting the pathway.
  uint64_t events = 0;
  uint64_t selecting = 0;
  // selecting / (events * top_k / num_pathways): 1 = the uniform share (NaN without events).
  double load_vs_uniform = 0.0;
};

// Everything the pathway page shows. A value type; thread-compatible.
struct PathwayProfile {
  std::string run_id;
  std::string split;
  uint32_t layer = 0;
  uint32_t pathway = 0;
  uint32_t num_pathways = 0;
  uint32_t top_k = 0;
  // Events (tokens) in the layer, and those selecting this pathway.
  uint64_t layer_events = 0;
  uint64_t load = 0;
  // load / (layer_events * top_k / num_pathways): 1 = the uniform share.
  double load_vs_uniform = 0.0;
  // load / layer_events: share of tokens that select it.
  double density = 0.0;
  // Mean gate over the tokens that select it (NaN without load).
  double mean_gate = 0.0;
  std::vector<Context> top_contexts;
  std::vector<QuantileGroup> quantile_groups;
  Histogram gate_histogram;
  std::vector<TokenLift> tokens_by_lift;
  std::vector<TokenLift> next_tokens_by_lift;
  // Partners in the same layer (every other pathway with load, by lift descending).
  std::vector<Partner> same_layer_partners;
  std::string same_layer_null;
  // Partners in the next routed layer (empty for the last routed layer).
  bool has_next_layer = false;
  uint32_t next_layer = 0;
  std::vector<Partner> next_layer_partners;
  std::string next_layer_null;
  // Load over training: one entry per step bucket of LayerEvents::step_loads, ascending.
  std::vector<LoadBucket> load_over_training;
  // The tokens its output raises and lowers (filled by ExplorerSite from the run's checkpoint;
  // not computed by BuildPathwayProfile).
  PathwayLogits logits;
  // Its stored controlled ablation result (filled by ExplorerSite from the run's checkpoint
  // directory; not read by BuildPathwayProfile).
  PathwayAblation ablation;
};

// Builds the profile of `pathway` in `layer`. OUT_OF_RANGE naming the field for a layer that is
// not routed or a pathway >= num_pathways; INVALID_ARGUMENT for bad options. Pure; thread-safe.
absl::StatusOr<PathwayProfile> BuildPathwayProfile(const RunEvents& run, uint32_t layer,
                                                   uint32_t pathway, const Decoder& decode,
                                                   const ExplorerOptions& options);

// The context (+-options.context_tokens tokens) of event `i` of `events` for `pathway`.
Context MakeContext(const LayerEvents& events, size_t i, uint32_t pathway, const Decoder& decode,
                    int context_tokens);

// Text of a token: decode(id), or "#<id>" when decode is empty or returns "".
std::string TokenText(const Decoder& decode, uint32_t token_id);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_PROFILE_H_
