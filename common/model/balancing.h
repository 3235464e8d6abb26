// Load balancing of pathway routers: GLBL (global, over the whole optimizer step, EMA-smoothed),
// Switch (micro-batch) LBL, and the aux-loss-free selection bias; per-layer load statistics.
//
// Step protocol for a training loop (one LoadBalancer per model):
//   balancer->BeginStep();
//   // f must be known before any backward. Either (grad_accum == 1) accumulate from the training
//   // forward itself, or (grad_accum > 1) run a cheap no-grad pre-pass over all micro-batches:
//   for (mb : micro_batches) balancer->Accumulate(model->forward(mb,
//   {.return_logits=false}).routing); balancer->FinalizeCounts();      // all-reduce hook (data
//   parallel), then EMA -> f for (mb : micro_batches) {
//     auto out = model->forward(mb, {.return_logits = false});
//     loss = lm_loss + balancer->Loss(out.routing);   // alpha * sum over routed layers
//     loss.backward();
//   }
//   optimizer.step();
//   balancer->EndStep(*model);       // aux-free bias update; stats for logging
#ifndef MONOROUTE_COMMON_MODEL_BALANCING_H_
#define MONOROUTE_COMMON_MODEL_BALANCING_H_

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/pathway_router.h"
#include "common/model/routing_config.h"

namespace monoroute::model {

class CausalLMImpl;
using GPTNeoImpl = CausalLMImpl;

// Statistics of one routed layer for one step (computed from the step's raw counts).
struct LayerBalanceStats {
  int64_t layer = -1;         // block index
  std::vector<double> load;   // fraction of top-k assignments per pathway (sums to 1)
  double max_vio = 0.0;       // (max load - mean load) / mean load
  double load_entropy = 0.0;  // -sum load * ln(load), nats (max ln P)
  double loss = 0.0;          // last balancing loss value of this layer (unweighted)
};

// Loads of [P] counts: MaxVio and entropy helpers (pure functions).
double MaxViolation(const std::vector<double>& load);
double LoadEntropy(const std::vector<double>& load);

// Differentiable GLBL / Switch loss of one layer: P * sum_p f_p * mean_n probs[n, p].
// `f` [P] is treated as a constant (detached); probs [N, P] fp32.
torch::Tensor BalanceLoss(const torch::Tensor& probs, const torch::Tensor& f);

// Counts of top-k assignments per pathway, [P] fp32, from indices [N, k] (no grad).
torch::Tensor AssignmentCounts(const torch::Tensor& topk_indices, int64_t num_pathways);

// Options of a LoadBalancer.
struct LoadBalancerOptions {
  BalancingConfig balancing;           // method, alpha, EMA momentum, bias rate
  int64_t num_pathways = 16;           // P
  std::vector<int64_t> layers;         // routed layer indices, ascending
  torch::Device device = torch::kCPU;  // where counts / f live (the model's device)
};

// Holds per-step counts, the EMA of f and stats. State (EMA, step count) is saveable through
// StateDict / LoadStateDict; the aux-free bias lives in each router's `selection_bias` buffer
// (saved with the model). Not thread-safe; one per training loop.
class LoadBalancer {
 public:
  // Called by FinalizeCounts with the step's per-layer counts [L, P] fp32 on the device (already
  // summed over the step's micro-batches); must replace them in place by the sum over the
  // data-parallel ranks, so f (GLBL), the aux-free bias update and Stats() are the global batch's.
  // An error fails FinalizeCounts with it. Switch LBL is unaffected: its f stays the current
  // micro-batch's on each rank.
  using AllReduceFn = std::function<absl::Status(torch::Tensor& counts)>;

  static absl::StatusOr<std::unique_ptr<LoadBalancer>> Create(const LoadBalancerOptions& options);

  // Sets the data-parallel all-reduce hook (default: none, single process).
  void SetAllReduce(AllReduceFn fn) { all_reduce_ = std::move(fn); }

  // Starts an optimizer step: zeroes the step's counts.
  void BeginStep();
  // Adds the top-k assignment counts of one (micro-)batch; `routing` ordered as `layers`.
  absl::Status Accumulate(const std::vector<RoutingInfo>& routing);
  // All-reduces the step's counts, then f = m * f_prev + (1 - m) * counts/sum (first step: no
  // history, f = counts/sum). Call once per step after all Accumulate calls.
  absl::Status FinalizeCounts();
  // alpha * sum over routed layers of the balancing loss (differentiable w.r.t. probs):
  //  glbl: f = the finalised step frequencies; switch: f of this micro-batch only;
  //  aux_free / none: a zero scalar. Records each layer's loss value for Stats().
  absl::StatusOr<torch::Tensor> Loss(const std::vector<RoutingInfo>& routing);
  // Ends the step: aux-free updates each router's selection_bias by u * sign(mean - load);
  // computes Stats() from this step's raw counts.
  absl::Status EndStep(GPTNeoImpl& model);

  // Per-layer stats of the last finished step.
  const std::vector<LayerBalanceStats>& Stats() const { return stats_; }
  // The finalised f [L, P] of the current step (undefined before FinalizeCounts).
  const torch::Tensor& f() const { return f_; }
  // Raw counts [L, P] accumulated in the current step.
  const torch::Tensor& counts() const { return counts_; }
  const LoadBalancerOptions& options() const { return options_; }

  // Saveable state: "balancing.ema_f" [L, P], "balancing.has_ema" [1], "balancing.steps" [1].
  std::map<std::string, torch::Tensor> StateDict() const;
  absl::Status LoadStateDict(const std::map<std::string, torch::Tensor>& state);

 private:
  explicit LoadBalancer(const LoadBalancerOptions& options);
  LoadBalancerOptions options_;
  AllReduceFn all_reduce_;
  torch::Tensor counts_;  // [L, P] this step
  torch::Tensor ema_f_;   // [L, P]
  bool has_ema_ = false;
  int64_t steps_ = 0;
  torch::Tensor f_;          // [L, P] finalised
  torch::Tensor last_loss_;  // [L] detached per-layer losses of the last Loss() call
  std::vector<LayerBalanceStats> stats_;
};

}  // namespace monoroute::model

#endif  // MONOROUTE_COMMON_MODEL_BALANCING_H_
