// Text generation from a checkpoint with optional steering (pathways disabled or scaled), and the
// sampler it shares with the Python client (monoroute_client.sampling, docs/python.md): the same
// logits, seed and settings give the same token in both. Used by `monoroute generate`.
// Torch-free header.
#ifndef MONOROUTE_COMMON_ENGINE_GENERATE_H_
#define MONOROUTE_COMMON_ENGINE_GENERATE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace monoroute::engine {

// One pathway whose output is multiplied by `factor` whenever it is selected.
struct PathwayScale {
  // Routed layer (transformer block index).
  int layer = 0;
  // Pathway index in [0, num_pathways).
  int pathway = 0;
  // Multiplier of the pathway's (renormalised, gate-scaled) weight; 1 leaves it unchanged.
  double factor = 1.0;
};

// What to generate and how.
struct GenerateOptions {
  // Checkpoint directory (config.json + model.safetensors), dense or routed.
  std::string model_dir;
  // The prompt text (tokenised with the GPT-2 BPE; must give at least one token).
  std::string prompt;
  // Tokens to generate (prompt + these <= max_position_embeddings).
  int max_new_tokens = 32;
  // 0: greedy (arg-max); > 0: sampling from softmax(logits / temperature).
  double temperature = 0.0;
  // Sample among the top_k most likely tokens only; 0: all.
  int top_k = 0;
  // Seed of the counter-based sampler (SamplerUniform).
  uint64_t seed = 0;
  // Stop after generating "<|endoftext|>".
  bool stop_at_eot = false;
  // Pathways disabled while generating, as (layer, pathway): never selected (the offline
  // ablation's mechanism, GPTNeoImpl::SetPathwayMask).
  std::vector<std::pair<int, int>> ablate;
  // Pathways scaled while generating.
  std::vector<PathwayScale> scale;
  // GPT-2 tokenizer directory; empty: model_dir when it has vocab.json, else the installed one.
  std::string tokenizer_dir;
  // "cpu" or "cuda[:N]".
  std::string device = "cpu";
  // Intra-op CPU threads; 0: every CPU this process may run on.
  int threads = 1;
};

// Routing of one position in one routed layer.
struct TokenRouting {
  int layer = 0;
  // The top-k pathways (descending selection score).
  std::vector<int> pathways;
  // Their renormalised weights (before any steering scale).
  std::vector<double> weights;
};

// One generated token with the routing of the position that predicted it (the last position of
// the context it was sampled from).
struct GeneratedToken {
  int32_t id = 0;
  // Its bytes as text (may be part of a UTF-8 sequence).
  std::string text;
  std::vector<TokenRouting> routing;
};

// Result of Generate.
struct GenerateResult {
  // The generated continuation (prompt excluded) and its ids.
  std::string text;
  std::vector<int32_t> ids;
  std::vector<int32_t> prompt_ids;
  std::vector<GeneratedToken> tokens;
};

// Loads the checkpoint, applies the steering and generates. INVALID_ARGUMENT naming the field for
// max_new_tokens < 0, prompt + max_new_tokens over max_position_embeddings, an empty prompt,
// top_k < 0, a negative temperature, ablate / scale on a layer that is not routed or a pathway
// out of range, a non-finite factor, or fewer than top_k pathways left enabled. Blocking;
// thread-compatible.
absl::StatusOr<GenerateResult> Generate(const GenerateOptions& options);

// {"text", "ids", "prompt_ids", "tokens": [{"id", "text", "routing": [{"layer", "pathways",
// "weights"}]}]} as one JSON object.
std::string GenerateResultToJson(const GenerateResult& result);

// "L:P" -> (layer, pathway); "L:P=x" -> PathwayScale. INVALID_ARGUMENT naming `flag` otherwise.
absl::StatusOr<std::pair<int, int>> ParsePathwayRef(absl::string_view text, absl::string_view flag);
absl::StatusOr<PathwayScale> ParsePathwayScale(absl::string_view text, absl::string_view flag);

// --- The sampler (identical in monoroute_client/sampling.py) ---

// Vigna's splitmix64: state advanced by 0x9E3779B97F4A7C15, then the finaliser.
uint64_t SplitMix64(uint64_t x);

// The uniform draw in [0, 1) of generated token `step`:
// (SplitMix64(SplitMix64(seed) ^ step) >> 11) * 2^-53.
double SamplerUniform(uint64_t seed, uint64_t step);

// The next token from one position's logits [vocab]. temperature <= 0: the arg-max (lowest id
// among ties). Otherwise the candidates are the ids by logit descending (ties: lower id first),
// the first top_k of them (0: all); z_i = double(logit_i) / temperature; w_i = exp(z_i - z_0);
// total = sum of w_i in candidate order; the first candidate whose running sum exceeds
// SamplerUniform(seed, step) * total (the last candidate if none).
int32_t SampleNext(const float* logits, int64_t vocab, double temperature, int top_k, uint64_t seed,
                   uint64_t step);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_GENERATE_H_
