// Job spec -> model configs -> model (any family: the model library chooses by model_type).
#include "common/engine/model_factory.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/model/checkpoint.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute::engine {

absl::StatusOr<model::ModelConfig> PretrainConfig(const JobSpec& spec) {
  if (!spec.model.config_path.empty()) {
    absl::StatusOr<model::ModelConfig> r = model::ModelConfig::FromFile(spec.model.config_path);
    if (!r.ok()) {
      return absl::Status(r.status().code(),
                          absl::StrCat("model.config_path: ", r.status().message()));
    }
    return *r;
  }
  model::ModelConfig c = ResolveModelSection(spec.model);
  RETURN_IF_ERROR(c.Validate("model", /*hf_names=*/false));
  return c;
}

absl::StatusOr<model::RoutingConfig> ToRoutingConfig(const RoutingSection& r) {
  RETURN_IF_ERROR(r.ValidateValues("routing"));
  return static_cast<const model::RoutingConfig&>(r);
}

absl::StatusOr<torch::Device> ParseDevice(const std::string& device) {
  if (device == "cpu") return torch::Device(torch::kCPU);
  int index = 0;
  if (device != "cuda") {
    if (device.rfind("cuda:", 0) != 0 || !absl::SimpleAtoi(device.substr(5), &index) || index < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("device: must be 'cpu', 'cuda' or 'cuda:N', got '", device, "'"));
    }
  }
  if (!torch::cuda::is_available()) {
    return absl::FailedPreconditionError(
        absl::StrCat("device: '", device, "' asked for, but CUDA is not available"));
  }
  if (index >= static_cast<int>(torch::cuda::device_count())) {
    return absl::FailedPreconditionError(absl::StrCat("device: '", device, "' asked for, but only ",
                                                      torch::cuda::device_count(), " GPU(s)"));
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

absl::StatusOr<model::CausalLM> BuildModel(const JobSpec& spec, const torch::Device& device) {
  std::optional<model::RoutingConfig> routing;
  if (IsRouted(spec)) {
    ASSIGN_OR_RETURN(model::RoutingConfig rc, ToRoutingConfig(spec.routing));
    routing = rc;
  }
  if (spec.kind == "pretrain") {
    ASSIGN_OR_RETURN(model::ModelConfig config, PretrainConfig(spec));
    if (routing) {
      absl::Status s = routing->Validate(config);
      if (!s.ok()) return s;
    }
    return TorchCall("building the pretrain model", [&]() -> absl::StatusOr<model::CausalLM> {
      torch::manual_seed(spec.seed);
      model::CausalLM m(config, routing);
      m->InitWeights(spec.model.initializer_range);
      m->to(device);
      return m;
    });
  }
  // finetune
  ASSIGN_OR_RETURN(model::ModelDirConfig dir_config, model::ReadModelConfig(spec.model_dir));
  if (routing) {
    absl::Status s = routing->Validate(dir_config.config);
    if (!s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat(s.message(), " (model_dir ", spec.model_dir,
                                 ": intermediate_size ", dir_config.config.intermediate_size, ")"));
    }
  }
  if (spec.data.seq_len > dir_config.config.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat("data.seq_len: ", spec.data.seq_len,
                                                   " exceeds the model's max_position_embeddings ",
                                                   dir_config.config.max_position_embeddings));
  }
  model::LoadOptions lo;
  lo.routing = routing;
  lo.dense_only = !routing.has_value();
  lo.device = device;
  torch::manual_seed(spec.seed);
  return model::LoadModel(spec.model_dir, lo);
}

}  // namespace monoroute::engine
