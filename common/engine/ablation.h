// Controlled pathway ablation: how much the LM loss rises on the tokens routed to a pathway when it
// is disabled, compared with load-matched control pathways of the same layer ablated the same way,
// with block-bootstrap intervals over evaluation sequences. Used by the analysis service and by
// `monoroute ablate`. Torch-free header.
#ifndef MONOROUTE_COMMON_ENGINE_ABLATION_H_
#define MONOROUTE_COMMON_ENGINE_ABLATION_H_

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/engine/eval_data.h"

namespace monoroute::engine {

// What to ablate, on which data, and how to compare. The checkpoint (a routed one: config.json
// with a `routing` section) and the evaluation text are EvalInput's; each evaluated sequence is
// one bootstrap block.
struct AblationOptions : EvalInput {
  // seq_len defaults to 0: min(128, the checkpoint's max_position_embeddings).
  AblationOptions() { seq_len = 0; }
  // Transformer block index of the routed layer (e.g. 0, 2, 4, 6).
  int layer = 0;
  // Pathway index within that layer, in [0, num_pathways).
  int pathway = 0;
  // Evaluate about this many tokens: at most ceil(max_tokens / (seq_len * batch_size)) batches,
  // and only as much of the file is read as they need (0: max_batches decides).
  int64_t max_tokens = 0;
  // "cpu" or "cuda[:N]".
  std::string device = "cpu";
  // Intra-op CPU threads; 0: every CPU this process may run on.
  int threads = 0;
  // Load-matched control pathways per target, in [1, num_pathways - 1].
  int num_controls = 4;
  // Bootstrap replicates (evaluation sequences resampled with replacement); 0: no intervals.
  int bootstrap = 1000;
  // Seeds the bootstrap resamples and the shuffle that breaks load ties among control candidates.
  uint64_t seed = 0;
  // How many of the target's most frequent token ids (among its selected tokens) form its "top
  // tokens" (>= 1).
  int top_tokens = 10;
  // Categories of the *current* (routed) token for the per-category breakdown: a word lexicon
  // (.tsv file or a directory of them, e.g. data/lexicon, projected onto the tokenizer) or a
  // token-categories TSV, as the analysis service's --lexicon; empty: no breakdown.
  std::string lexicon;
  // A category's controlled effect is computed only when the target has at least this many of
  // its routed tokens in it; below, the category is listed as "too few tokens" (with its count)
  // and no effect. 50 keeps the percentile interval of a per-category mean readable at a few
  // dozen sequences; >= 1.
  int64_t min_category_tokens = 50;
};

// A difference of two mean CE increases with its 95% block-bootstrap interval. The interval is the
// percentile interval (2.5% and 97.5% quantiles of the replicates, linear interpolation); `se` is
// the standard deviation of the replicates. Without replicates the interval and se are NaN.
struct BootstrapDifference {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  // On the evaluation data as is (NaN when a mean has no tokens).
  double estimate = kNaN;
  double low = kNaN;
  double high = kNaN;
  double se = kNaN;
  // Replicates in which every mean of the difference had tokens (the others are left out).
  int64_t replicates = 0;
};

// One control pathway of a target.
struct AblationControl {
  int pathway = 0;
  // |S_q|: evaluation tokens whose intact top-k at the layer contains the control.
  int64_t load = 0;
  // Mean CE increase on S_q when the control is disabled.
  double effect = BootstrapDifference::kNaN;
};

// One category c of the current token in the per-category breakdown. Target: mean increase on
// S_p ∩ c when p is disabled; control (the null): the mean increase over the pooled tokens of c
// of the load-matched controls (the union over q of S_q ∩ c, each q disabled alone on its own
// tokens; pooled, so a control with few tokens in c weighs little and a resample lacks a control
// mean only when no control has a token of c). `difference` = target - control, on the same
// bootstrap resamples as the other differences (paired); chance level 0.
struct AblationCategoryEffect {
  // Label name from the lexicon, or "mixed" (a token whose lexicon votes tie) or "none" (a token
  // with no category).
  std::string category;
  // "ok"; "too few tokens" (tokens < min_category_tokens: no effect computed); "no control
  // tokens" (no control has a token in c).
  std::string status;
  // |S_p ∩ c|, and the pooled control tokens: the sum over the controls of |S_q ∩ c|.
  int64_t tokens = 0;
  int64_t control_tokens = 0;
  // The controls with at least one token in c (those the control mean is over).
  std::vector<int> controls_used;
  double target_increase = BootstrapDifference::kNaN;
  double control_increase = BootstrapDifference::kNaN;
  BootstrapDifference difference;
};

// Result for one target (layer, p). S_p = evaluation tokens whose intact top-k at `layer` contains
// p; a token's increase is CE(ablated) - CE(intact) of its next-token prediction. Means are over
// tokens (NaN when a set is empty).
struct AblationResult {
  int layer = 0;
  int pathway = 0;
  // Predicted tokens evaluated, in this many sequences (the bootstrap's blocks).
  int64_t tokens = 0;
  int64_t sequences = 0;
  // |S_p| (the target's load).
  int64_t selected_tokens = 0;
  // Mean CE of the intact model / of the model with p disabled, over all tokens.
  double base_loss = 0.0;
  double ablated_loss = 0.0;
  // Mean increase on S_p when p is disabled.
  double target_effect = BootstrapDifference::kNaN;
  // The load-matched controls (other pathways of the layer with tokens, loads closest to |S_p|;
  // fewer than num_controls when fewer pathways of the layer have tokens), each ablated alone.
  std::vector<AblationControl> controls;
  // Mean over the controls of their effects.
  double control_effect = BootstrapDifference::kNaN;
  // target_effect - control_effect, with the interval (paired: one resample recomputes both).
  BootstrapDifference effect_difference;
  // The `top_tokens` most frequent token ids in S_p (most frequent first, ties by id).
  std::vector<int32_t> top_token_ids;
  // Tokens of S_p whose id is / is not among top_token_ids, and their mean increases.
  int64_t top_token_count = 0;
  int64_t rest_token_count = 0;
  double top_increase = BootstrapDifference::kNaN;
  double rest_increase = BootstrapDifference::kNaN;
  // top_increase - rest_increase, on the same resamples as effect_difference.
  BootstrapDifference top_vs_rest;
  // The pre-control numbers: selected_increase equals target_effect; other_increase is the mean
  // increase on tokens not in S_p. "Other" is not a control: those tokens never used p, so they
  // are perturbed only indirectly (through attention to earlier changed positions).
  double selected_increase = BootstrapDifference::kNaN;
  double other_increase = BootstrapDifference::kNaN;
  // Bootstrap replicates asked for and the seed.
  int bootstrap = 0;
  uint64_t seed = 0;
  // The per-category breakdown (options.lexicon; empty source and no entries without one): every
  // label of the lexicon in its order, then "mixed" and "none", each with its token counts.
  std::string category_source;
  int64_t min_category_tokens = 0;
  std::vector<AblationCategoryEffect> categories;
};

// Version of AblationResultToJson's document ("version"; 1: no version key, no categories).
inline constexpr int kAblationJsonVersion = 2;

// Loads the checkpoint, evaluates the data intact, with p disabled and with each control
// disabled, and reports the result. INVALID_ARGUMENT naming the field for a dense checkpoint, a
// layer that is not routed, a pathway out of range, num_controls outside [1, num_pathways - 1],
// bootstrap < 0, top_tokens < 1 or min_category_tokens < 1; a lexicon that cannot be loaded gives
// the loader's code with a message starting "lexicon: PATH". Blocking; thread-compatible.
absl::StatusOr<AblationResult> RunPathwayAblation(const AblationOptions& options);

// As RunPathwayAblation for several (layer, pathway) targets: one intact pass, and one ablated
// pass per distinct disabled pathway (targets and controls share it when they coincide). A
// target's result does not depend on the other targets; options.layer / options.pathway are
// ignored.
absl::StatusOr<std::vector<AblationResult>> RunPathwayAblations(
    const AblationOptions& options, const std::vector<std::pair<int, int>>& targets);

// One JSON object with every field of `r` (NaN as null; an interval as "<name>_ci": [low, high]).
// Written and read (AblationResultFromJson) from one field list, ablation_json.cc.
std::string AblationResultToJson(const AblationResult& r);

// Reads AblationResultToJson's document, of any version (1: no "version" key, no categories):
// a missing key or a value of another type keeps the field's default, null reads as NaN. Sets
// `*version` (when not null) to the document's version. INVALID_ARGUMENT when `json` is not a
// JSON object.
absl::StatusOr<AblationResult> AblationResultFromJson(const std::string& json,
                                                      int* version = nullptr);

// --- The statistics, exposed for tests ---

// Per-sequence sums of CE increases over token sets ("slots"), row-major [sequence][slot].
struct SequenceSums {
  int64_t sequences = 0;
  int slots = 0;
  // Sum of the increases of the slot's tokens in the sequence.
  std::vector<double> sum;
  // Number of the slot's tokens in the sequence.
  std::vector<int64_t> count;
};

// difference = average over `plus` of the slots' means - average over `minus` of theirs, where a
// slot's mean is sum(sum) / sum(count) over the (resampled) sequences.
struct SlotDifference {
  std::vector<int> plus;
  std::vector<int> minus;
};

// Each difference on the data as is and on `replicates` block-bootstrap resamples (sequences drawn
// uniformly with replacement, the same resamples for every difference; portable mt19937_64 stream
// seeded with `seed`). INVALID_ARGUMENT for a slot index out of range or inconsistent sizes.
absl::StatusOr<std::vector<BootstrapDifference>> BlockBootstrapDifferences(
    const SequenceSums& sums, const std::vector<SlotDifference>& differences, int replicates,
    uint64_t seed);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_ABLATION_H_
