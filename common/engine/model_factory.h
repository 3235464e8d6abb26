// From a job spec to model configs and a ready model of any family: the pretrain architecture
// (the spec's model section or a config.json), the routing config, and the finetune load (dense
// checkpoint converted to routed, or a routed one continued). No per-family code here: the model
// library chooses by model_type. Torch only in the .cc except BuildModel's result type.
#ifndef MONOROUTE_COMMON_ENGINE_MODEL_FACTORY_H_
#define MONOROUTE_COMMON_ENGINE_MODEL_FACTORY_H_

#include <torch/torch.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/engine/job_spec.h"
#include "common/model/causal_lm.h"
#include "common/model/gpt_neo.h"
#include "common/model/model_config.h"
#include "common/model/routing_config.h"

namespace monoroute::engine {

// The pretrain architecture: model.config_path's config.json if set, else the model section
// with its defaults resolved (ResolveModelSection). Validated; errors name the spec key.
absl::StatusOr<model::ModelConfig> PretrainConfig(const JobSpec& spec);

// The routing section's RoutingConfig (the section is-a RoutingConfig plus `enabled`), its
// values validated (not against a model).
absl::StatusOr<model::RoutingConfig> ToRoutingConfig(const RoutingSection& r);

// Parses "cpu" / "cuda" / "cuda:N"; FAILED_PRECONDITION when CUDA is asked for but absent.
absl::StatusOr<torch::Device> ParseDevice(const std::string& device);

// Builds the job's model on `device`: pretrain = fresh init (seeded by spec.seed) dense or routed;
// finetune = LoadModel(model_dir) converted to the spec's routing (routers seeded by spec.seed),
// or its dense part when the job is not routed. Errors name the key / file / tensor at fault.
absl::StatusOr<model::CausalLM> BuildModel(const JobSpec& spec, const torch::Device& device);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_MODEL_FACTORY_H_
