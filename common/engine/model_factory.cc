// Job spec -> model configs -> model.
#include "common/engine/model_factory.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/model/checkpoint.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute::engine {

absl::StatusOr<model::GPTNeoConfig> PretrainConfig(const JobSpec& spec) {
  model::GPTNeoConfig c;
  if (!spec.model.config_path.empty()) {
    absl::StatusOr<model::GPTNeoConfig> r = model::GPTNeoConfig::FromFile(spec.model.config_path);
    if (!r.ok()) {
      return absl::Status(r.status().code(),
                          absl::StrCat("model.config_path: ", r.status().message()));
    }
    c = *r;
  } else {
    const ModelSpec& m = spec.model;
    c.vocab_size = m.vocab_size;
    c.hidden_size = m.hidden_size;
    c.num_layers = m.num_layers;
    c.num_heads = m.num_heads;
    c.intermediate_size = m.intermediate_size > 0 ? m.intermediate_size : 4 * m.hidden_size;
    c.window_size = m.window_size;
    c.max_position_embeddings = m.max_position_embeddings;
    c.layer_norm_epsilon = m.layer_norm_epsilon;
    c.attention_layers = m.attention_layers;
    if (c.attention_layers.empty()) {
      for (int i = 0; i < m.num_layers; ++i) {
        c.attention_layers.push_back(i % 2 == 0 ? "global" : "local");
      }
    }
    c.bos_token_id = c.eos_token_id = std::min<int64_t>(50256, c.vocab_size - 1);
  }
  absl::Status s = c.Validate("model");
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("model: ", s.message()));
  return c;
}

absl::StatusOr<model::RoutingConfig> ToRoutingConfig(const RoutingSpec& r) {
  model::RoutingConfig c;
  c.num_pathways = r.num_pathways;
  c.top_k = r.top_k;
  c.router_hidden = r.router_hidden;
  c.route_every_n_layers = r.route_every_n_layers;
  for (int l : r.layers) c.layers.push_back(l);
  c.router_activation = r.router_activation;
  c.temperature = r.temperature;
  absl::StatusOr<model::BalancingMethod> m = model::ParseBalancingMethod(r.balancing.method);
  if (!m.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("routing.balancing.method: ", m.status().message()));
  }
  c.balancing.method = *m;
  c.balancing.alpha = r.balancing.alpha;
  c.balancing.ema_momentum = r.balancing.ema_momentum;
  c.balancing.bias_update_rate = r.balancing.bias_update_rate;
  return c;
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

absl::StatusOr<model::GPTNeo> BuildModel(const JobSpec& spec, const torch::Device& device) {
  std::optional<model::RoutingConfig> routing;
  if (IsRouted(spec)) {
    ASSIGN_OR_RETURN(model::RoutingConfig rc, ToRoutingConfig(spec.routing));
    routing = rc;
  }
  if (spec.kind == "pretrain") {
    ASSIGN_OR_RETURN(model::GPTNeoConfig config, PretrainConfig(spec));
    if (routing) {
      absl::Status s = routing->Validate(config);
      if (!s.ok()) return s;
    }
    return TorchCall("building the pretrain model", [&]() -> absl::StatusOr<model::GPTNeo> {
      torch::manual_seed(spec.seed);
      model::GPTNeo m(config, routing);
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
  return model::LoadGPTNeo(spec.model_dir, lo);
}

}  // namespace monoroute::engine
