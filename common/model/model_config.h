// ModelConfig: one architecture config for every supported family (GPT-Neo, GPT-NeoX / Pythia,
// GPT-2), parsed from a Hugging Face `config.json` by its `model_type` and written back in that
// family's HF layout. Torch-free on purpose (included by tools that never touch LibTorch).
#ifndef MONOROUTE_COMMON_MODEL_MODEL_CONFIG_H_
#define MONOROUTE_COMMON_MODEL_MODEL_CONFIG_H_

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace monoroute::model {

// The architecture family, named in config.json by `model_type`.
enum class ModelFamily {
  kGPTNeo,   // "gpt_neo": learned positions, global/local attention, no attention scaling
  kGPTNeoX,  // "gpt_neox" (Pythia): rotary, fused per-head qkv, parallel residual, untied head
  kGPT2,     // "gpt2": learned positions, Conv1D weights, scaled attention, tied head
};

// "gpt_neo" | "gpt_neox" | "gpt2".
const char* ModelFamilyName(ModelFamily f);
// Inverse of ModelFamilyName; INVALID_ARGUMENT naming the supported ones otherwise.
absl::StatusOr<ModelFamily> ParseModelFamily(const std::string& model_type);

// Architecture hyper-parameters of a causal LM of any family. Fields that a family does not have
// keep their defaults (and are not written to its config.json). A plain value type;
// thread-compatible.
struct ModelConfig {
  // Upper bound of every size field (vocab, widths, layers, heads, window, positions): far above
  // any supported model, and low enough that products such as 4 * hidden_size cannot overflow.
  static constexpr int64_t kMaxSize = int64_t{1} << 24;

  // Which family's module tree, forward and checkpoint names.
  ModelFamily family = ModelFamily::kGPTNeo;
  // Vocabulary size (rows of the embedding / LM head; may exceed the tokenizer's, e.g. Pythia's
  // 50304 for 50277 tokens: the extra rows are never produced by the tokenizer).
  int64_t vocab_size = 50257;
  // Width of the residual stream (GPT-2: n_embd).
  int64_t hidden_size = 64;
  // Number of transformer blocks (GPT-NeoX: num_hidden_layers, GPT-2: n_layer).
  int64_t num_layers = 8;
  // Number of attention heads, dividing hidden_size (GPT-NeoX: num_attention_heads, GPT-2: n_head).
  int64_t num_heads = 16;
  // MLP width (GPT-2: n_inner); `null` in config.json resolves to 4 * hidden_size.
  int64_t intermediate_size = 256;
  // GPT-Neo: sliding window of "local" layers (position i sees j with i - window < j <= i).
  int64_t window_size = 256;
  // Maximum sequence length (GPT-2: n_positions).
  int64_t max_position_embeddings = 2048;
  // LayerNorm epsilon (GPT-NeoX: layer_norm_eps).
  double layer_norm_epsilon = 1e-5;
  // MLP activation: "gelu_new" (tanh approximation) or "gelu" (exact erf; GPT-NeoX's hidden_act).
  std::string activation_function = "gelu_new";
  // Per-layer attention kind, "global" or "local"; size == num_layers ("global" for families
  // without local attention).
  std::vector<std::string> attention_layers;
  // LM head tied to the token embedding (GPT-Neo, GPT-2: true; GPT-NeoX: false, `embed_out`).
  bool tie_word_embeddings = true;
  // GPT-NeoX: fraction of each head's dims that get rotary embeddings (rotary_pct).
  double rotary_pct = 0.25;
  // GPT-NeoX: rotary base (rotary_emb_base).
  double rotary_emb_base = 10000;
  // GPT-NeoX: x + attn(ln1(x)) + mlp(ln2(x)) when true, else sequential (use_parallel_residual).
  bool use_parallel_residual = true;
  // GPT-NeoX: query_key_value and dense carry biases (attention_bias).
  bool attention_bias = true;
  // Token ids written back to config.json (not used by the model itself).
  int64_t bos_token_id = 50256;
  int64_t eos_token_id = 50256;

  // TinyStories-1M's architecture (GPT-Neo, vocab 50257, hidden 64, 8 layers alternating
  // global/local, 16 heads, window 256, 2048 positions): the benchmark workload.
  static ModelConfig TinyStories1M();
  // Pythia-70M's architecture (GPT-NeoX, vocab 50304, hidden 512, 6 layers, 8 heads, rotary 0.25,
  // 2048 positions, parallel residual).
  static ModelConfig Pythia70M();
  // GPT-2 small (vocab 50257, hidden 768, 12 layers, 12 heads, 1024 positions).
  static ModelConfig Gpt2Small();

  // Parses a HF config.json object by its `model_type`. `source` names the file in error
  // messages. Each family's architecture keys are required (missing or null: INVALID_ARGUMENT
  // "config.json: required key 'hidden_size' is missing or null"); the others default as in
  // HF's config class. Unsupported values are rejected by name, e.g. INVALID_ARGUMENT
  // "config.json: activation_function 'relu' is not supported".
  static absl::StatusOr<ModelConfig> FromJson(const nlohmann::json& j,
                                              const std::string& source = "config.json");
  // Only the family (model_type, default gpt_neo) and the sizes (each family's keys; absent ones
  // default as here, intermediate 4 * hidden), each in 1..kMaxSize: for estimates made before a
  // job starts (the engine parses the whole file with FromJson when it does).
  static absl::StatusOr<ModelConfig> SizesFromJson(const nlohmann::json& j,
                                                   const std::string& source);
  // Reads and parses `path` (a config.json file).
  static absl::StatusOr<ModelConfig> FromFile(const std::string& path);

  // Checks internal consistency (sizes in 1..kMaxSize, divisibility, finite positive epsilon,
  // attention_layers, the family's supported options). Errors name the family's HF key, or with
  // hf_names false monoroute's canonical one (config_fields.h; the job spec's `model` section).
  absl::Status Validate(const std::string& source = "config.json", bool hf_names = true) const;

  // HF-loadable config.json object of the family (model_type, architectures, its key names).
  // Does not include a `routing` section.
  nlohmann::json ToJson() const;

  // Head dimension (hidden_size / num_heads).
  int64_t head_dim() const { return hidden_size / num_heads; }
  // GPT-NeoX: rotated dims per head, int(head_dim * rotary_pct) as HF computes it.
  int64_t rotary_ndims() const;
  // True when layer `i` uses local (sliding-window) attention.
  bool is_local(int64_t i) const;
};

// Parses JSON text of `source` (a config.json). INVALID_ARGUMENT naming the source and the
// position on a syntax error; NaN / Infinity (not JSON, but written by Python's json.dump) are
// named as such: "config.json: NaN is not a JSON number (byte 123); write a number or null".
absl::StatusOr<nlohmann::json> ParseConfigJsonText(const std::string& text,
                                                   const std::string& source);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_MODEL_CONFIG_H_
