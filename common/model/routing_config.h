// RoutingConfig: how a model's MLPs are split into pathways, routed and load-balanced.
// Stored as the `routing` section of config.json. Torch-free.
#ifndef MONOROUTE_COMMON_MODEL_ROUTING_CONFIG_H_
#define MONOROUTE_COMMON_MODEL_ROUTING_CONFIG_H_

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/gpt_neo_config.h"
#include "common/model/model_config.h"

namespace monoroute::model {

// Load-balancing method of the routers.
enum class BalancingMethod {
  kGlbl,     // global LBL: f over the whole optimizer step (all micro-batches, all ranks), EMA.
  kSwitch,   // Switch-Transformer LBL: f over the current micro-batch only.
  kAuxFree,  // DeepSeek aux-loss-free: a selection-only bias updated by u * sign(mean - load).
  kNone,     // no balancing.
};

// "glbl" | "switch" | "aux_free" | "none".
const char* BalancingMethodName(BalancingMethod m);
// Inverse of BalancingMethodName; INVALID_ARGUMENT naming the supported ones otherwise.
absl::StatusOr<BalancingMethod> ParseBalancingMethod(const std::string& name);

// Balancing hyper-parameters. Plain value type.
struct BalancingConfig {
  // Which balancing method the trainer applies.
  BalancingMethod method = BalancingMethod::kGlbl;
  // Weight of the balancing loss per routed layer: total = lm + alpha * sum over routed layers
  // (glbl/switch), as in Switch Transformer and Megatron-LM.
  double alpha = 0.1;
  // EMA momentum of the GLBL frequencies across steps: f = m * f_prev + (1 - m) * f_step.
  // 0 disables smoothing (f = this step's frequencies).
  double ema_momentum = 0.5;
  // Aux-free: bias step u in bias += u * sign(mean load - load) after each optimizer step.
  double bias_update_rate = 1e-3;
};

// Routing hyper-parameters. Plain value type; thread-compatible.
struct RoutingConfig {
  // Pathways per routed MLP (P); each owns intermediate_size / P contiguous neurons.
  int64_t num_pathways = 16;
  // Pathways selected per token (k).
  int64_t top_k = 4;
  // Width of the router's hidden layer (hidden -> router_hidden -> P).
  int64_t router_hidden = 128;
  // Route layers 0, n, 2n, ... when `layers` is empty.
  int64_t route_every_n_layers = 2;
  // Explicit routed layer indices; overrides route_every_n_layers when non-empty.
  std::vector<int64_t> layers;
  // Router hidden activation: "relu" (also "gelu_new", "silu").
  std::string router_activation = "relu";
  // Softmax temperature of router scores (probs = softmax(scores / temperature)).
  double temperature = 1.0;
  // Load balancing.
  BalancingConfig balancing;

  // The routed layer indices for a model with `num_layers` blocks, ascending.
  std::vector<int64_t> RoutedLayers(int64_t num_layers) const;

  // Upper bound of num_pathways.
  static constexpr int64_t kMaxPathways = 256;

  // Validates the values on their own: P in [1, kMaxPathways], top_k in [1, P], positive sizes,
  // layers >= 0 and unique, temperature > 0, alpha >= 0, momentum in [0, 1), known activation.
  // Errors are INVALID_ARGUMENT naming the key under `prefix` ("routing.top_k: must be ...").
  absl::Status ValidateValues(const std::string& prefix = "routing") const;
  // ValidateValues plus the fit to the model: intermediate_size divisible by P, layers in range.
  absl::Status Validate(const ModelConfig& config) const;

  // The `routing` section of config.json.
  nlohmann::json ToJson() const;
  // Parses a `routing` section; unknown keys and bad types are rejected by their path.
  static absl::StatusOr<RoutingConfig> FromJson(const nlohmann::json& j,
                                                const std::string& source = "config.json");
};

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_ROUTING_CONFIG_H_
