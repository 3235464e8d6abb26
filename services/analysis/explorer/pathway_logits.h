// Logit tables of a pathway: the tokens whose logits its output raises and lowers most. Its output
// direction is its slice of the MLP down-projection applied to its mean gated activation on its
// top contexts (each context's prefix run through the checkpoint), read through the final layer
// norm's scale and the unembedding (the direct path; the final norm's normalisation is left out).
// The types are plain (no LibTorch); ComputePathwayLogits is implemented by pathway_logits.cc with
// the engine, or by try_unavailable.cc (UNIMPLEMENTED) in builds without it.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_LOGITS_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_LOGITS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/explorer/run_events.h"

namespace monoroute::analysis::explorer {

// One context of the pathway: the token ids of its sequence up to and including the routed token
// (the last id) and the pathway's recorded gate on that token.
struct LogitContext {
  std::vector<uint32_t> token_ids;
  float gate = 0.0f;
};

struct PathwayLogitsOptions {
  // Routed checkpoint directory; the caller has checked it against the allowed roots.
  std::string checkpoint;
  // The routed layer and the pathway (its neuron slice).
  uint32_t layer = 0;
  uint32_t pathway = 0;
  // The contexts whose mean gated activation defines the output direction (at most 64).
  std::vector<LogitContext> contexts;
  // Rows of each table (raised, lowered), 1 to 100.
  int top_n = 10;
};

// A token and the pathway's direct contribution to its logit.
struct LogitEntry {
  uint32_t token_id = 0;
  // Filled by the caller that has a decoder ("" from ComputePathwayLogits).
  std::string text;
  double value = 0.0;
};

// The logit tables; `computed` false with `note` saying why when they are not available.
struct PathwayLogits {
  bool computed = false;
  std::string note;
  std::string checkpoint;
  // Contexts averaged.
  uint32_t contexts = 0;
  // Highest values first / lowest values first.
  std::vector<LogitEntry> raised;
  std::vector<LogitEntry> lowered;
};

// The prefixes of the contexts at (sequence_id, position) pairs of `events` (one per pair, in
// order): the recorded tokens of the same sequence at consecutive positions ending at the routed
// token, at most `max_tokens` of them, with `gates` (the pathway's gate on each routed token). A
// pair not in `events` is skipped.
std::vector<LogitContext> LogitContextsOf(const LayerEvents& events,
                                          const std::vector<std::pair<uint64_t, uint32_t>>& at,
                                          const std::vector<float>& gates, uint32_t max_tokens);

// Loads the checkpoint, runs each context's prefix, averages gate * top_k * the slice's activation
// (the pathway's term of the routed MLP) at the routed token, and returns the top_n tokens of
// W_U (ln_f.weight * (W_down[:, slice] * mean)). INVALID_ARGUMENT naming the field for no
// contexts, too many, an empty or too long prefix, a token id >= vocab_size, a layer that is not
// routed or a pathway >= num_pathways; NOT_FOUND for a missing checkpoint; UNIMPLEMENTED without
// the engine. Thread-safe (loads the model per call).
absl::StatusOr<PathwayLogits> ComputePathwayLogits(const PathwayLogitsOptions& options);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_LOGITS_H_
