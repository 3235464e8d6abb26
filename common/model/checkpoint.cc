// Load / save models of every family in the Hugging Face directory layout (+ routing extras).
#include "common/model/checkpoint.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/tensor_io/safetensors.h"
#include "common/tensor_io/state_dict.h"
#include "common/tensor_io/tensor_map.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute::model {
namespace {

constexpr char kRouterInfix[] = ".mlp.router.";

// Classes of the remote code (HfRemoteCodeFiles) that transformers' Auto classes load, per
// family: config class (in configuration_monoroute.py), model class (in modeling_monoroute.py).
struct RemoteClasses {
  const char* config;
  const char* model;
};

RemoteClasses RemoteClassesOf(ModelFamily family) {
  switch (family) {
    case ModelFamily::kGPTNeoX:
      return {"MonorouteGPTNeoXConfig", "MonorouteGPTNeoXForCausalLM"};
    case ModelFamily::kGPT2:
      return {"MonorouteGPT2Config", "MonorouteGPT2LMHeadModel"};
    case ModelFamily::kGPTNeo:
      break;
  }
  return {"MonorouteGPTNeoConfig", "MonorouteGPTNeoForCausalLM"};
}

// "<prefix>.3.mlp.router.0.weight" -> "routing.layers.3.router.0.weight"; other names as is.
std::string CheckpointName(const std::string& module_name) {
  const size_t pos = module_name.find(kRouterInfix);
  if (pos == std::string::npos) return module_name;
  const size_t dot = module_name.rfind('.', pos - 1);
  if (dot == std::string::npos) return module_name;
  const std::string layer = module_name.substr(dot + 1, pos - dot - 1);
  return absl::StrCat(kRoutingPrefix, layer, ".router.",
                      module_name.substr(pos + sizeof(kRouterInfix) - 1));
}

// Buffers that older HF checkpoints carry and that hold no weights: causal-mask caches,
// masked_bias and rotary inv_freq (GPT-Neo "attn.attention.*", GPT-2 "attn.*", GPT-NeoX
// "attention.*"). No parameter of any family has one of these names.
bool IsIgnorableBuffer(const std::string& name) {
  for (const char* suffix :
       {".attn.attention.bias", ".attn.attention.masked_bias", ".attn.bias", ".attn.masked_bias",
        ".attention.bias", ".attention.masked_bias", ".attention.rotary_emb.inv_freq"}) {
    if (absl::EndsWith(name, suffix)) return true;
  }
  return false;
}

// GPT-2's Conv1D weights, stored [in, out] in checkpoints (nn.Linear [out, in] here).
bool IsConv1DWeight(const ModelConfig& config, const std::string& name) {
  if (config.family != ModelFamily::kGPT2 || absl::StartsWith(name, kRoutingPrefix)) return false;
  for (const char* suffix :
       {".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight"}) {
    if (absl::EndsWith(name, suffix)) return true;
  }
  return false;
}

// A checkpoint's state in this module tree's names and layouts: GPT-2 keys without the
// "transformer." prefix (GPT2Model checkpoints such as the original `gpt2`) get it, Conv1D
// weights are transposed to [out, in].
std::map<std::string, torch::Tensor> ToModuleLayout(
    const ModelConfig& config, const std::map<std::string, torch::Tensor>& state) {
  if (config.family != ModelFamily::kGPT2) return state;
  std::map<std::string, torch::Tensor> out;
  for (const auto& kv : state) {
    std::string name = kv.first;
    if (!absl::StartsWith(name, "transformer.") && !absl::StartsWith(name, "lm_head.") &&
        !absl::StartsWith(name, kRoutingPrefix)) {
      name = absl::StrCat("transformer.", name);
    }
    const bool conv = IsConv1DWeight(config, name) && kv.second.dim() == 2;
    out[name] = conv ? kv.second.t() : kv.second;
  }
  return out;
}

}  // namespace

absl::StatusOr<ModelDirConfig> ReadModelConfig(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  ASSIGN_OR_RETURN(nlohmann::json j, ParseConfigJsonText(text, path));
  ModelDirConfig out;
  ASSIGN_OR_RETURN(out.config, ModelConfig::FromJson(j, path));
  if (auto it = j.find("routing"); it != j.end() && !it->is_null()) {
    ASSIGN_OR_RETURN(RoutingConfig r, RoutingConfig::FromJson(*it, path));
    if (absl::Status s = r.Validate(out.config); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
    }
    out.routing = r;
  }
  return out;
}

absl::Status LoadStateIntoModel(CausalLMImpl& model,
                                const std::map<std::string, torch::Tensor>& checkpoint_state,
                                const std::string& source) {
  const std::map<std::string, torch::Tensor> state =
      ToModuleLayout(model.config(), checkpoint_state);
  // Expected tensors: parameters and buffers under their checkpoint names.
  std::map<std::string, torch::Tensor> expected;
  for (const auto& kv : model.named_parameters()) expected[CheckpointName(kv.key())] = kv.value();
  for (const auto& kv : model.named_buffers()) expected[CheckpointName(kv.key())] = kv.value();
  bool has_router_tensors = false;
  for (const auto& kv : state) {
    if (absl::StartsWith(kv.first, kRoutingPrefix)) has_router_tensors = true;
  }
  // Unexpected names first: a checkpoint of another architecture fails here by name.
  for (const auto& kv : state) {
    const std::string& name = kv.first;
    if (expected.count(name) > 0 || IsIgnorableBuffer(name)) continue;
    if (name == "lm_head.weight" && model.config().tie_word_embeddings) {
      const auto& wte = model.wte->weight;
      if (kv.second.sizes() != wte.sizes()) {
        return absl::InvalidArgumentError(absl::StrCat(
            source, ": tensor 'lm_head.weight' has shape ", ShapeString(kv.second.sizes()),
            ", expected ", ShapeString(wte.sizes()), " (tied to the token embedding)"));
      }
      continue;
    }
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": unexpected tensor '", name, "' (not a ",
                     ModelFamilyName(model.config().family), " checkpoint of this config)"));
  }
  for (const auto& kv : expected) {
    const std::string& name = kv.first;
    const bool is_router = absl::StartsWith(name, kRoutingPrefix);
    auto it = state.find(name);
    if (it == state.end()) {
      if (is_router && !has_router_tensors) continue;  // dense checkpoint -> fresh routers
      return absl::NotFoundError(absl::StrCat(source, ": tensor '", name, "' is missing"));
    }
    if (it->second.sizes() != kv.second.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": tensor '", name, "' has shape ",
                                                     ShapeString(it->second.sizes()), ", expected ",
                                                     ShapeString(kv.second.sizes())));
    }
    if (!it->second.is_floating_point()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": tensor '", name, "' is not floating point"));
    }
  }
  return TorchCall(absl::StrCat("loading ", source), [&]() {
    torch::NoGradGuard no_grad;
    for (auto& kv : expected) {
      auto it = state.find(kv.first);
      if (it == state.end()) continue;
      kv.second.copy_(it->second);
    }
  });
}

absl::StatusOr<CausalLM> LoadModel(const std::string& dir, const LoadOptions& options) {
  ASSIGN_OR_RETURN(ModelDirConfig mc, ReadModelConfig(dir));
  std::optional<RoutingConfig> routing = mc.routing;
  if (options.routing.has_value()) {
    if (absl::Status s = options.routing->Validate(mc.config); !s.ok()) return s;
    if (mc.routing.has_value() && (mc.routing->RoutedLayers(mc.config.num_layers) !=
                                       options.routing->RoutedLayers(mc.config.num_layers) ||
                                   mc.routing->num_pathways != options.routing->num_pathways ||
                                   mc.routing->router_hidden != options.routing->router_hidden)) {
      return absl::InvalidArgumentError(absl::StrCat(
          dir, ": requested routing does not match the checkpoint's routed layers / sizes"));
    }
    routing = options.routing;
  }
  if (options.dense_only) routing.reset();
  ASSIGN_OR_RETURN(std::string weights_file, FindWeightsFile(dir));
  ASSIGN_OR_RETURN(TensorMap state, LoadStateDict(dir));
  if (!routing.has_value() || !mc.routing.has_value()) {
    // Router tensors of a routed checkpoint are dropped when loading densely.
    for (auto it = state.begin(); it != state.end();) {
      if (absl::StartsWith(it->first, kRoutingPrefix) && !routing.has_value()) {
        it = state.erase(it);
      } else {
        ++it;
      }
    }
  }
  ASSIGN_OR_RETURN(CausalLM model,
                   TorchCall("building the model", [&]() -> absl::StatusOr<CausalLM> {
                     return CausalLM(mc.config, routing);
                   }));
  RETURN_IF_ERROR(LoadStateIntoModel(*model, state, weights_file));
  RETURN_IF_ERROR(TorchCall("moving model", [&]() { model->to(options.device); }));
  return model;
}

std::map<std::string, torch::Tensor> ExportState(const CausalLMImpl& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& kv : model.named_parameters()) {
    torch::Tensor t = kv.value().detach().to(torch::kCPU, torch::kFloat);
    if (IsConv1DWeight(model.config(), kv.key())) t = t.t().contiguous();
    out[CheckpointName(kv.key())] = t.clone();
  }
  for (const auto& kv : model.named_buffers()) {
    out[CheckpointName(kv.key())] = kv.value().detach().to(torch::kCPU, torch::kFloat).clone();
  }
  return out;
}

const std::vector<RemoteCodeFile>& HfRemoteCodeFiles() {
  static const std::vector<RemoteCodeFile> files = {
#include "hf_remote_code.inc"  // generated by common/model/CMakeLists.txt
  };
  return files;
}

// The remote code (HfRemoteCodeFiles) implements every family's routed model; dense
// checkpoints need none (transformers' own classes load them).
bool HasRemoteCode(const CausalLMImpl& model) { return model.routing().has_value(); }

nlohmann::json ModelConfigJson(const CausalLMImpl& model) {
  nlohmann::json j = model.config().ToJson();  // model_type stays the family's (C++ loader)
  if (model.routing().has_value()) j["routing"] = model.routing()->ToJson();
  if (HasRemoteCode(model)) {
    const RemoteClasses classes = RemoteClassesOf(model.config().family);
    j["architectures"] = nlohmann::json::array({classes.model});
    j["auto_map"] = {{"AutoConfig", absl::StrCat("configuration_monoroute.", classes.config)},
                     {"AutoModelForCausalLM", absl::StrCat("modeling_monoroute.", classes.model)}};
  }
  return j;
}

absl::Status SaveModel(const CausalLMImpl& model, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  if (HasRemoteCode(model)) {
    for (const RemoteCodeFile& f : HfRemoteCodeFiles()) {
      RETURN_IF_ERROR(WriteFileAtomic((std::filesystem::path(dir) / f.name).string(), f.content));
    }
  }
  const std::string cfg = (std::filesystem::path(dir) / "config.json").string();
  RETURN_IF_ERROR(WriteFileAtomic(cfg, ModelConfigJson(model).dump(2) + "\n"));
  TensorMap state;
  RETURN_IF_ERROR(TorchCall("exporting weights", [&]() {
    for (auto& kv : ExportState(model)) state[kv.first] = kv.second;
  }));
  return WriteSafetensors((std::filesystem::path(dir) / "model.safetensors").string(), state,
                          {{"format", "pt"}});
}

}  // namespace monoroute::model
