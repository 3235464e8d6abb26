// GPTNeoConfig: the subset of a Hugging Face GPT-Neo `config.json` that monoroute's model uses.
// Torch-free on purpose (included by tools that never touch LibTorch).
#ifndef MONOROUTE_COMMON_MODEL_GPT_NEO_CONFIG_H_
#define MONOROUTE_COMMON_MODEL_GPT_NEO_CONFIG_H_

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace monoroute::model {

// Architecture hyper-parameters of a GPT-Neo causal LM. A plain value type; thread-compatible.
struct GPTNeoConfig {
  // Upper bound of every size field (vocab, widths, layers, heads, window, positions): far above
  // any GPT-Neo, and low enough that products such as 4 * hidden_size cannot overflow.
  static constexpr int64_t kMaxSize = int64_t{1} << 24;

  // Vocabulary size (rows of the tied embedding / LM head).
  int64_t vocab_size = 50257;
  // Width of the residual stream.
  int64_t hidden_size = 64;
  // Number of transformer blocks.
  int64_t num_layers = 8;
  // Number of attention heads (hidden_size must be divisible by it).
  int64_t num_heads = 16;
  // MLP width; `null` in config.json resolves to 4 * hidden_size.
  int64_t intermediate_size = 256;
  // Sliding window of "local" attention layers: position i sees j with i - window < j <= i.
  int64_t window_size = 256;
  // Number of learned position embeddings (maximum sequence length).
  int64_t max_position_embeddings = 2048;
  // LayerNorm epsilon.
  double layer_norm_epsilon = 1e-5;
  // MLP activation; only "gelu_new" is supported.
  std::string activation_function = "gelu_new";
  // Per-layer attention kind, "global" or "local"; size == num_layers.
  std::vector<std::string> attention_layers;
  // LM head tied to the token embedding; only true is supported.
  bool tie_word_embeddings = true;
  // Token ids written back to config.json (not used by the model itself).
  int64_t bos_token_id = 50256;
  int64_t eos_token_id = 50256;

  // TinyStories-1M's architecture (vocab 50257, hidden 64, 8 layers alternating global/local,
  // 16 heads, window 256, 2048 positions): the benchmark workload.
  static GPTNeoConfig TinyStories1M();

  // Parses a HF config.json object. `source` names the file in error messages. Required keys
  // (vocab_size, hidden_size, num_layers, num_heads, window_size, max_position_embeddings, and
  // attention_types or attention_layers) missing or null are INVALID_ARGUMENT naming the key
  // ("config.json: required key 'hidden_size' is missing or null"); the others default as in
  // HF's GPTNeoConfig. Unsupported values are rejected by name, e.g. INVALID_ARGUMENT
  // "config.json: activation_function 'relu' is not supported".
  static absl::StatusOr<GPTNeoConfig> FromJson(const nlohmann::json& j,
                                               const std::string& source = "config.json");
  // Reads and parses `path` (a config.json file).
  static absl::StatusOr<GPTNeoConfig> FromFile(const std::string& path);

  // Checks internal consistency (sizes in 1..kMaxSize, divisibility, attention_layers size/kinds).
  absl::Status Validate(const std::string& source = "config.json") const;

  // HF-loadable config.json object (model_type gpt_neo, attention_types compressed,
  // architectures GPTNeoForCausalLM). Does not include a `routing` section.
  nlohmann::json ToJson() const;

  // Head dimension (hidden_size / num_heads).
  int64_t head_dim() const { return hidden_size / num_heads; }
  // True when layer `i` uses local (sliding-window) attention.
  bool is_local(int64_t i) const;
};

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_GPT_NEO_CONFIG_H_
