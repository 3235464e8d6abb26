// Trainer state of a checkpoint (beside the model's config.json + model.safetensors):
//   trainer_state.json  step, tokens seen, data position (epoch, index, seed, seq_len, source
//                       hash, window count), elapsed time
//   trainer_state.pt    AdamW moments and step counts per parameter ("optim.<i>.exp_avg",
//                       "optim.<i>.exp_avg_sq", "optim.<i>.step"), RNG states ("rng.cpu",
//                       "rng.cuda"), balancing state ("balancing.*")
// Everything needed for a resumed run to continue bit for bit on CPU.
#ifndef MONOROUTE_COMMON_ENGINE_TRAINER_STATE_H_
#define MONOROUTE_COMMON_ENGINE_TRAINER_STATE_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/engine/sequence_sampler.h"
#include "common/model/balancing.h"

namespace monoroute::engine {

// Scalar progress of a job.
struct TrainerProgress {
  // Optimizer steps done.
  int64_t step = 0;
  // Training tokens consumed.
  int64_t tokens_seen = 0;
  // Sampler position after `step` steps.
  SamplerPosition data;
  // Data identity (a resumed job must see the same windows).
  uint64_t data_seed = 0;
  int seq_len = 0;
  int64_t train_windows = 0;
  std::string train_sha256;
  // Training seconds so far (all runs).
  double elapsed_s = 0.0;
};

// Writes trainer_state.json and trainer_state.pt into `dir`. `params` are the optimizer's
// parameters in a fixed order (the same order must be passed to LoadTrainerState). `balancer`
// may be null. `device` is where training runs (its CUDA RNG is saved when CUDA).
absl::Status SaveTrainerState(const std::string& dir, const TrainerProgress& progress,
                              torch::optim::AdamW& optimizer,
                              const std::vector<torch::Tensor>& params,
                              const model::LoadBalancer* balancer, const torch::Device& device);

// Reads the files written by SaveTrainerState and restores optimizer moments, RNG states and the
// balancer. Errors name the file and the entry at fault (e.g. a moment of another shape).
absl::Status LoadTrainerState(const std::string& dir, TrainerProgress* progress,
                              torch::optim::AdamW& optimizer,
                              const std::vector<torch::Tensor>& params,
                              model::LoadBalancer* balancer, const torch::Device& device);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_TRAINER_STATE_H_
