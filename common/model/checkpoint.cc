// Load / save GPT-Neo models in the Hugging Face directory layout (+ routing extras).
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

// Classes of the remote code (HfRemoteCodeFiles) that transformers' Auto classes load.
constexpr char kRemoteConfigClass[] = "configuration_monoroute.MonorouteGPTNeoConfig";
constexpr char kRemoteModelClass[] = "modeling_monoroute.MonorouteGPTNeoForCausalLM";

// "transformer.h.3.mlp.router.0.weight" -> "routing.layers.3.router.0.weight"; other names as is.
std::string CheckpointName(const std::string& module_name) {
  const size_t pos = module_name.find(kRouterInfix);
  if (pos == std::string::npos || !absl::StartsWith(module_name, "transformer.h.")) {
    return module_name;
  }
  const std::string layer = module_name.substr(14, pos - 14);
  return absl::StrCat(kRoutingPrefix, layer, ".router.",
                      module_name.substr(pos + sizeof(kRouterInfix) - 1));
}

// Legacy HF GPT-Neo buffers that carry no weights (causal mask caches).
bool IsIgnorableBuffer(const std::string& name) {
  return absl::EndsWith(name, ".attn.attention.bias") ||
         absl::EndsWith(name, ".attn.attention.masked_bias");
}

}  // namespace

absl::StatusOr<ModelDirConfig> ReadModelConfig(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": invalid JSON"));
  ModelDirConfig out;
  ASSIGN_OR_RETURN(out.config, GPTNeoConfig::FromJson(j, path));
  if (auto it = j.find("routing"); it != j.end() && !it->is_null()) {
    ASSIGN_OR_RETURN(RoutingConfig r, RoutingConfig::FromJson(*it, path));
    if (absl::Status s = r.Validate(out.config); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
    }
    out.routing = r;
  }
  return out;
}

absl::Status LoadStateIntoModel(GPTNeoImpl& model,
                                const std::map<std::string, torch::Tensor>& state,
                                const std::string& source) {
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
    if (name == "lm_head.weight") {
      const auto& wte = model.wte->weight;
      if (kv.second.sizes() != wte.sizes()) {
        return absl::InvalidArgumentError(absl::StrCat(
            source, ": tensor 'lm_head.weight' has shape ", ShapeString(kv.second.sizes()),
            ", expected ", ShapeString(wte.sizes()), " (tied to transformer.wte.weight)"));
      }
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(source, ": unexpected tensor '", name,
                                                   "' (not a GPT-Neo checkpoint of this config)"));
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

absl::StatusOr<GPTNeo> LoadGPTNeo(const std::string& dir, const LoadOptions& options) {
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
  ASSIGN_OR_RETURN(GPTNeo model, TorchCall("building GPTNeo", [&]() -> absl::StatusOr<GPTNeo> {
                     return GPTNeo(mc.config, routing);
                   }));
  RETURN_IF_ERROR(LoadStateIntoModel(*model, state, weights_file));
  RETURN_IF_ERROR(TorchCall("moving model", [&]() { model->to(options.device); }));
  return model;
}

std::map<std::string, torch::Tensor> ExportState(const GPTNeoImpl& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& kv : model.named_parameters()) {
    out[CheckpointName(kv.key())] = kv.value().detach().to(torch::kCPU, torch::kFloat).clone();
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

nlohmann::json ModelConfigJson(const GPTNeoImpl& model) {
  nlohmann::json j = model.config().ToJson();
  if (model.routing().has_value()) {
    j["routing"] = model.routing()->ToJson();
    j["architectures"] = nlohmann::json::array({"MonorouteGPTNeoForCausalLM"});
    j["auto_map"] = {{"AutoConfig", kRemoteConfigClass},
                     {"AutoModelForCausalLM", kRemoteModelClass}};
  }
  return j;
}

absl::Status SaveGPTNeo(const GPTNeoImpl& model, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  if (model.routing().has_value()) {
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
