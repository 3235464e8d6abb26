// Hugging Face checkpoint I/O for every family (GPT-Neo, GPT-NeoX, GPT-2): load a model
// directory (model.safetensors or pytorch_model.bin) by config.json's model_type, save
// config.json (+ `routing` section) and model.safetensors with the base weights under the
// family's HF names (tied lm_head omitted; GPT-2's Conv1D weights [in, out]) and router weights
// under "routing.layers.{i}.". Routed checkpoints of every family also get Hugging Face remote
// code (the .py files of clients/python/monoroute_client/modeling, embedded at build time) and
// an `auto_map` naming the family's classes.
#ifndef MONOROUTE_COMMON_MODEL_CHECKPOINT_H_
#define MONOROUTE_COMMON_MODEL_CHECKPOINT_H_

#include <torch/torch.h>

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/causal_lm.h"
#include "common/model/gpt_neo.h"
#include "common/model/model_config.h"
#include "common/model/routing_config.h"

namespace monoroute::model {

// Prefix of router tensors in model.safetensors: "routing.layers.{i}.router.{0,2}.{weight,bias}"
// and "routing.layers.{i}.router.selection_bias".
inline constexpr char kRoutingPrefix[] = "routing.layers.";

// A model directory's config: the model config plus its optional `routing` section.
struct ModelDirConfig {
  ModelConfig config;                    // architecture (any family)
  std::optional<RoutingConfig> routing;  // the `routing` section, when routed
};

// Reads and validates `dir`/config.json (model_type gpt_neo, gpt_neox or gpt2; routing
// validated). Errors name the file and the key (NaN / Infinity are named as such).
absl::StatusOr<ModelDirConfig> ReadModelConfig(const std::string& dir);

// Options of LoadModel.
struct LoadOptions {
  // Route the loaded model with this config: a dense checkpoint is converted (every dense weight
  // kept, fresh routers); a routed checkpoint keeps its trained routers when the routed layers and
  // sizes match (else INVALID_ARGUMENT). nullopt: the checkpoint's own routing (if any).
  std::optional<RoutingConfig> routing;
  // Drop the checkpoint's routing and load only the dense part.
  bool dense_only = false;
  // Device to put the model on.
  torch::Device device = torch::kCPU;
};

// Loads an HF model directory of any supported family. Every tensor's shape is checked against
// config.json (errors name the tensor); unexpected or missing tensors are errors naming them, so a
// checkpoint of another architecture fails here. GPT-2 keys with or without the "transformer."
// prefix are accepted; buffers older checkpoints carry (attention masks, masked_bias, rotary
// inv_freq) are ignored. Thread-safe (no shared state).
absl::StatusOr<CausalLM> LoadModel(const std::string& dir, const LoadOptions& options = {});
// The name LoadModel had before GPT-NeoX and GPT-2.
inline absl::StatusOr<CausalLM> LoadGPTNeo(const std::string& dir,
                                           const LoadOptions& options = {}) {
  return LoadModel(dir, options);
}

// Copies an HF-named state dict (plus "routing.layers.*" entries) into `model`. `source` names the
// file in errors. For tied models lm_head.weight, if present, must equal the embedding's shape.
// GPT-2 state is taken in checkpoint layout (Conv1D [in, out], keys with or without prefix).
absl::Status LoadStateIntoModel(CausalLMImpl& model,
                                const std::map<std::string, torch::Tensor>& state,
                                const std::string& source);

// The model's tensors under checkpoint names (HF names and layouts for the base, kRoutingPrefix
// for routers), detached CPU fp32 copies; no lm_head.weight when tied.
std::map<std::string, torch::Tensor> ExportState(const CausalLMImpl& model);

// config.json object for `model` (its family's HF fields + `routing` section when routed; a
// routed model's also names the remote code of its family: `auto_map` and architectures
// ["MonorouteGPTNeoForCausalLM"], ["MonorouteGPTNeoXForCausalLM"] or
// ["MonorouteGPT2LMHeadModel"]; model_type stays the family's).
nlohmann::json ModelConfigJson(const CausalLMImpl& model);

// One Hugging Face remote-code file (name and content; static storage, never freed).
struct RemoteCodeFile {
  const char* name;     // e.g. "modeling_monoroute.py"
  const char* content;  // the file's text
};

// The remote-code files written beside config.json of routed checkpoints (configuration_,
// modeling_monoroute.py, routed_gpt_neo.py and family_layers.py from
// clients/python/monoroute_client/modeling/, embedded by common/model/CMakeLists.txt).
// Thread-safe (immutable).
const std::vector<RemoteCodeFile>& HfRemoteCodeFiles();

// Writes `dir`/config.json and `dir`/model.safetensors (creating `dir`). Atomic per file.
// A routed model's directory also gets HfRemoteCodeFiles() and config.json's `auto_map`
// (AutoConfig / AutoModelForCausalLM -> its family's classes in those files), so transformers
// with trust_remote_code=True runs the routed model instead of the dense one.
absl::Status SaveModel(const CausalLMImpl& model, const std::string& dir);
// The name SaveModel had before GPT-NeoX and GPT-2.
inline absl::Status SaveGPTNeo(const CausalLMImpl& model, const std::string& dir) {
  return SaveModel(model, dir);
}

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CHECKPOINT_H_
