// Hugging Face checkpoint I/O for GPTNeo: load a GPT-Neo model directory (model.safetensors or
// pytorch_model.bin), save config.json (+ `routing` section) and model.safetensors with the base
// weights under HF names (tied lm_head omitted) and router weights under "routing.layers.{i}.".
// Routed checkpoints also get Hugging Face remote code (the .py files of
// clients/python/monoroute_client/modeling, embedded at build time) and `auto_map` in config.json.
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
#include "common/model/gpt_neo.h"
#include "common/model/gpt_neo_config.h"
#include "common/model/routing_config.h"

namespace monoroute::model {

// Prefix of router tensors in model.safetensors: "routing.layers.{i}.router.{0,2}.{weight,bias}"
// and "routing.layers.{i}.router.selection_bias".
inline constexpr char kRoutingPrefix[] = "routing.layers.";

// A model directory's config: the GPT-Neo config plus its optional `routing` section.
struct ModelDirConfig {
  GPTNeoConfig config;
  std::optional<RoutingConfig> routing;
};

// Reads and validates `dir`/config.json (model_type must be gpt_neo; routing validated).
absl::StatusOr<ModelDirConfig> ReadModelConfig(const std::string& dir);

// Options of LoadGPTNeo.
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

// Loads a GPT-Neo HF directory. Every tensor's shape is checked against config.json (errors name
// the tensor); unexpected or missing tensors are errors naming them, so a checkpoint of another
// architecture fails here. Thread-safe (no shared state).
absl::StatusOr<GPTNeo> LoadGPTNeo(const std::string& dir, const LoadOptions& options = {});

// Copies an HF-named state dict (plus "routing.layers.*" entries) into `model`. `source` names the
// file in errors. lm_head.weight, if present, must equal transformer.wte.weight's shape (tied).
absl::Status LoadStateIntoModel(GPTNeoImpl& model,
                                const std::map<std::string, torch::Tensor>& state,
                                const std::string& source);

// The model's tensors under checkpoint names (HF names for the base, kRoutingPrefix for routers),
// detached CPU fp32 views/copies; no lm_head.weight.
std::map<std::string, torch::Tensor> ExportState(const GPTNeoImpl& model);

// config.json object for `model` (HF fields + `routing` section when routed; a routed model's
// also names the remote code: `auto_map` and architectures ["MonorouteGPTNeoForCausalLM"]).
nlohmann::json ModelConfigJson(const GPTNeoImpl& model);

// One Hugging Face remote-code file (name and content; static storage, never freed).
struct RemoteCodeFile {
  const char* name;     // e.g. "modeling_monoroute.py"
  const char* content;  // the file's text
};

// The remote-code files written beside config.json of routed checkpoints (configuration_,
// modeling_monoroute.py and routed_gpt_neo.py from clients/python/monoroute_client/modeling/,
// embedded by common/model/CMakeLists.txt). Thread-safe (immutable).
const std::vector<RemoteCodeFile>& HfRemoteCodeFiles();

// Writes `dir`/config.json and `dir`/model.safetensors (creating `dir`). Atomic per file.
// A routed model's directory also gets HfRemoteCodeFiles() and config.json's `auto_map`
// (AutoConfig / AutoModelForCausalLM -> those files), so transformers with
// trust_remote_code=True runs the routed model instead of the dense GPT-Neo.
absl::Status SaveGPTNeo(const GPTNeoImpl& model, const std::string& dir);

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_CHECKPOINT_H_
