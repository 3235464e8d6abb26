// FusedAdamW: AdamW (decoupled weight decay, torch.optim.AdamW's exact update) in one pass per
// parameter on CPU, and with the step count kept on the device on CUDA (so a CUDA graph can
// capture the whole optimizer step).
#ifndef MONOROUTE_COMMON_MODEL_ADAMW_H_
#define MONOROUTE_COMMON_MODEL_ADAMW_H_

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace monoroute::model {

// Hyper-parameters (torch.optim.AdamW defaults, weight decay 0.01).
struct AdamWOptions {
  double lr = 1e-3;            // learning rate
  double beta1 = 0.9;          // first-moment decay
  double beta2 = 0.999;        // second-moment decay
  double eps = 1e-8;           // denominator epsilon
  double weight_decay = 0.01;  // decoupled weight decay
};

// Owns the moment buffers of `params` (fp32, same device). Not thread-safe.
class FusedAdamW {
 public:
  FusedAdamW(std::vector<torch::Tensor> params, const AdamWOptions& options);

  // One update from the parameters' current .grad (parameters without grad are skipped).
  // p -= lr*wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
  // p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
  void Step();
  // Sets every parameter's grad to undefined (set_to_none).
  void ZeroGrad();
  // Changes the learning rate for the next steps (CPU path; CUDA-graph replays keep the captured
  // value).
  void set_lr(double lr) { options_.lr = lr; }
  int64_t step_count() const { return step_; }

  // "adamw.step" and "adamw.{exp_avg,exp_avg_sq}.{i}" (CPU copies), for checkpoints.
  std::map<std::string, torch::Tensor> StateDict() const;
  absl::Status LoadStateDict(const std::map<std::string, torch::Tensor>& state);

 private:
  std::vector<torch::Tensor> params_, exp_avg_, exp_avg_sq_;
  AdamWOptions options_;
  int64_t step_ = 0;
  torch::Tensor step_t_;  // device step counter (CUDA path)
};

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_ADAMW_H_
