// Pathway ablation: how much the LM loss rises when one pathway of a routed layer is disabled, on
// tokens that route to it versus all other tokens. Used by the analysis service and by
// `monoroute ablate`. Torch-free header.
#ifndef MONOROUTE_COMMON_ENGINE_ABLATION_H_
#define MONOROUTE_COMMON_ENGINE_ABLATION_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace monoroute::engine {

// What to ablate and on which data.
struct AblationOptions {
  // Routed HF checkpoint directory (config.json with a `routing` section + model.safetensors).
  std::string model_dir;
  // Evaluation text (same formats as the training data).
  std::string data_path;
  // "auto", "text" or "jsonl".
  std::string format = "auto";
  // Transformer block index of the routed layer (e.g. 0, 2, 4, 6).
  int layer = 0;
  // Pathway index within that layer, in [0, num_pathways).
  int pathway = 0;
  // Tokens per evaluated sequence.
  int seq_len = 128;
  // Sequences per forward pass.
  int batch_size = 16;
  // Evaluate at most this many batches (0: the whole file).
  int64_t max_batches = 0;
  // GPT-2 tokenizer directory; empty: model_dir if it has vocab.json, else the build default.
  std::string tokenizer_dir;
  // Where the packed token cache goes; empty: a temporary directory removed afterwards.
  std::string cache_dir;
  // "cpu" or "cuda[:N]".
  std::string device = "cpu";
  // Intra-op CPU threads; 0: every CPU this process may run on.
  int threads = 0;
};

// Loss increase when (layer, pathway) is disabled. "Selected" tokens are those whose top-k at
// `layer` contains `pathway` in the intact model; the increase is per-token CE(ablated) - CE(base)
// of the token's next-token prediction.
struct AblationResult {
  int layer = 0;
  int pathway = 0;
  // Predicted tokens evaluated.
  int64_t tokens = 0;
  // Of which selected the pathway.
  int64_t selected_tokens = 0;
  // Mean CE of the intact / ablated model over all tokens.
  double base_loss = 0.0;
  double ablated_loss = 0.0;
  // Mean CE increase on selected tokens and on all other tokens.
  double selected_increase = 0.0;
  double other_increase = 0.0;
  // selected_increase / other_increase (inf when other_increase == 0 and selected > 0).
  double ratio = 0.0;
};

// Loads the checkpoint, evaluates the data with and without the pathway, and reports the result.
// INVALID_ARGUMENT for a dense checkpoint, a layer that is not routed, or a pathway out of range.
// Blocking; thread-compatible.
absl::StatusOr<AblationResult> RunPathwayAblation(const AblationOptions& options);

// As RunPathwayAblation for several (layer, pathway) targets, sharing the intact pass;
// options.layer / options.pathway are ignored.
absl::StatusOr<std::vector<AblationResult>> RunPathwayAblations(
    const AblationOptions& options, const std::vector<std::pair<int, int>>& targets);

// One JSON object with every field of `r`.
std::string AblationResultToJson(const AblationResult& r);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_ABLATION_H_
