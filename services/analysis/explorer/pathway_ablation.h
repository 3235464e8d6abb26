// A pathway's controlled ablation result as the pathway page shows it: `monoroute ablate --save`
// (or anyone) stores engine::AblationResultToJson's document at AblationResultPath(checkpoint,
// layer, pathway), beside the run's checkpoint; the explorer reads it from there (under
// --allowed-root). No gRPC, no LibTorch.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_ABLATION_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_ABLATION_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace monoroute::analysis::explorer {

// <checkpoint>/ablations/layer<L>_pathway<P>.json.
std::string AblationResultPath(const std::string& checkpoint, uint32_t layer, uint32_t pathway);

// A difference of mean loss increases with its 95% percentile bootstrap interval (NaN: none).
struct AblationDifference {
  double estimate = std::numeric_limits<double>::quiet_NaN();
  double low = std::numeric_limits<double>::quiet_NaN();
  double high = std::numeric_limits<double>::quiet_NaN();
};

// One category of the current token in the stored per-category breakdown (`monoroute ablate
// --lexicon`): the target's mean increase on its tokens of the category minus its load-matched
// controls' on theirs (null: those controls; chance level 0), with the paired interval.
struct AblationCategoryRow {
  // Label name, "mixed" or "none".
  std::string category;
  // "ok", "too few tokens" (below the stored minimum: no effect) or "no control tokens".
  std::string status;
  // The pathway's routed tokens in the category, and the controls' (summed over those used).
  int64_t tokens = 0;
  int64_t control_tokens = 0;
  std::vector<uint32_t> controls_used;
  double target_increase = std::numeric_limits<double>::quiet_NaN();
  double control_increase = std::numeric_limits<double>::quiet_NaN();
  AblationDifference difference;
};

// What the page shows of one stored ablation, or why there is none.
struct PathwayAblation {
  // A stored result was read (else `note` says why not: none stored, no checkpoint, ...).
  bool found = false;
  std::string note;
  // The file it was read from.
  std::string path;
  // Evaluation tokens and sequences (bootstrap blocks); tokens routed to the pathway.
  int64_t tokens = 0;
  int64_t sequences = 0;
  int64_t selected_tokens = 0;
  // Mean CE increase on the pathway's tokens when it is disabled, the mean over its load-matched
  // controls, and their difference (the controlled effect) with its interval.
  double target_effect = std::numeric_limits<double>::quiet_NaN();
  double control_effect = std::numeric_limits<double>::quiet_NaN();
  std::vector<uint32_t> control_pathways;
  AblationDifference effect_difference;
  // The split the ablation makes of the pathway's tokens: its most frequent token ids vs the
  // rest.
  int64_t top_token_count = 0;
  int64_t rest_token_count = 0;
  double top_increase = std::numeric_limits<double>::quiet_NaN();
  double rest_increase = std::numeric_limits<double>::quiet_NaN();
  AblationDifference top_vs_rest;
  int bootstrap = 0;
  // The document's "version" (1 when it has none: written before the per-category breakdown).
  int version = 1;
  // The per-category breakdown when the ablation was run with a lexicon (else empty): where the
  // categories came from, the minimum token count, and one row per category in stored order.
  std::string category_source;
  int64_t min_category_tokens = 0;
  std::vector<AblationCategoryRow> categories;
};

// Parses engine::AblationResultToJson's document. INVALID_ARGUMENT when it is not a JSON object
// or is for another (layer, pathway).
absl::StatusOr<PathwayAblation> ParseAblationJson(const std::string& json, uint32_t layer,
                                                  uint32_t pathway);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_PATHWAY_ABLATION_H_
