// Load balancing: GLBL / Switch losses, aux-loss-free bias, per-layer load statistics.
#include "common/model/balancing.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/model/gpt_neo.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute::model {

double MaxViolation(const std::vector<double>& load) {
  if (load.empty()) return 0.0;
  double sum = 0.0, mx = 0.0;
  for (double l : load) {
    sum += l;
    mx = std::max(mx, l);
  }
  const double mean = sum / static_cast<double>(load.size());
  return mean > 0 ? (mx - mean) / mean : 0.0;
}

double LoadEntropy(const std::vector<double>& load) {
  double sum = 0.0;
  for (double l : load) sum += l;
  if (sum <= 0) return 0.0;
  double e = 0.0;
  for (double l : load) {
    const double p = l / sum;
    if (p > 0) e -= p * std::log(p);
  }
  return e;
}

torch::Tensor BalanceLoss(const torch::Tensor& probs, const torch::Tensor& f) {
  const int64_t p = probs.size(-1);
  torch::Tensor pbar = probs.reshape({-1, p}).mean(0);
  return static_cast<double>(p) * (f.detach().to(pbar.device()) * pbar).sum();
}

torch::Tensor AssignmentCounts(const torch::Tensor& topk_indices, int64_t num_pathways) {
  torch::NoGradGuard no_grad;
  torch::Tensor flat = topk_indices.reshape({-1});
  return torch::zeros({num_pathways},
                      torch::TensorOptions().dtype(torch::kFloat).device(flat.device()))
      .index_add_(0, flat,
                  torch::ones({flat.size(0)},
                              torch::TensorOptions().dtype(torch::kFloat).device(flat.device())));
}

LoadBalancer::LoadBalancer(const LoadBalancerOptions& options) : options_(options) {
  const int64_t l = static_cast<int64_t>(options.layers.size());
  auto opts = torch::TensorOptions().dtype(torch::kFloat).device(options.device);
  counts_ = torch::zeros({l, options.num_pathways}, opts);
  ema_f_ = torch::zeros({l, options.num_pathways}, opts);
  last_loss_ = torch::zeros({l}, opts);
}

absl::StatusOr<std::unique_ptr<LoadBalancer>> LoadBalancer::Create(
    const LoadBalancerOptions& options) {
  if (options.num_pathways <= 0) {
    return absl::InvalidArgumentError("LoadBalancer: num_pathways must be positive");
  }
  if (!(options.balancing.ema_momentum >= 0 && options.balancing.ema_momentum < 1)) {
    return absl::InvalidArgumentError("LoadBalancer: balancing.ema_momentum must be in [0, 1)");
  }
  return TorchCall("LoadBalancer::Create", [&]() -> absl::StatusOr<std::unique_ptr<LoadBalancer>> {
    return std::unique_ptr<LoadBalancer>(new LoadBalancer(options));
  });
}

void LoadBalancer::BeginStep() {
  counts_.zero_();
  f_ = torch::Tensor();
}

absl::Status LoadBalancer::Accumulate(const std::vector<RoutingInfo>& routing) {
  if (routing.size() != options_.layers.size()) {
    return absl::InvalidArgumentError(absl::StrCat("LoadBalancer::Accumulate: got ", routing.size(),
                                                   " routed layers, expected ",
                                                   options_.layers.size()));
  }
  return TorchCall("LoadBalancer::Accumulate", [&]() {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < routing.size(); ++i) {
      counts_[static_cast<int64_t>(i)].add_(
          AssignmentCounts(routing[i].topk_indices, options_.num_pathways).to(counts_.device()));
    }
  });
}

absl::Status LoadBalancer::FinalizeCounts() {
  if (all_reduce_) {
    torch::NoGradGuard no_grad;
    if (absl::Status st = all_reduce_(counts_); !st.ok()) return st;
  }
  return TorchCall("LoadBalancer::FinalizeCounts", [&]() {
    torch::NoGradGuard no_grad;
    torch::Tensor total = counts_.sum(1, /*keepdim=*/true).clamp_min(1.0);
    torch::Tensor step_f = counts_ / total;
    const double m = options_.balancing.ema_momentum;
    if (m > 0 && has_ema_) {
      ema_f_.mul_(m).add_(step_f, 1.0 - m);
    } else {
      ema_f_.copy_(step_f);
    }
    has_ema_ = true;
    f_ = ema_f_.clone();
  });
}

absl::StatusOr<torch::Tensor> LoadBalancer::Loss(const std::vector<RoutingInfo>& routing) {
  if (routing.size() != options_.layers.size()) {
    return absl::InvalidArgumentError(absl::StrCat("LoadBalancer::Loss: got ", routing.size(),
                                                   " routed layers, expected ",
                                                   options_.layers.size()));
  }
  const BalancingMethod method = options_.balancing.method;
  if (method == BalancingMethod::kGlbl && !f_.defined()) {
    return absl::FailedPreconditionError("LoadBalancer::Loss: FinalizeCounts was not called");
  }
  return TorchCall("LoadBalancer::Loss", [&]() -> absl::StatusOr<torch::Tensor> {
    if (routing.empty() || method == BalancingMethod::kAuxFree ||
        method == BalancingMethod::kNone) {
      return torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat).device(options_.device));
    }
    std::vector<torch::Tensor> losses;
    for (size_t i = 0; i < routing.size(); ++i) {
      torch::Tensor f;
      if (method == BalancingMethod::kGlbl) {
        f = f_[static_cast<int64_t>(i)];
      } else {
        torch::Tensor c = AssignmentCounts(routing[i].topk_indices, options_.num_pathways);
        f = c / c.sum().clamp_min(1.0);
      }
      losses.push_back(BalanceLoss(routing[i].probs, f));
    }
    torch::Tensor per_layer = torch::stack(losses);
    last_loss_ = per_layer.detach();  // read in EndStep (no device sync here)
    return per_layer.sum() * options_.balancing.alpha;
  });
}

absl::Status LoadBalancer::EndStep(GPTNeoImpl& model) {
  return TorchCall("LoadBalancer::EndStep", [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    torch::Tensor cpu = counts_.to(torch::kCPU);
    torch::Tensor loss_cpu = last_loss_.to(torch::kCPU);
    stats_.clear();
    for (size_t i = 0; i < options_.layers.size(); ++i) {
      LayerBalanceStats s;
      s.layer = options_.layers[i];
      torch::Tensor row = cpu[static_cast<int64_t>(i)];
      const double total = std::max(row.sum().item<double>(), 1.0);
      for (int64_t p = 0; p < options_.num_pathways; ++p) {
        s.load.push_back(row[p].item<double>() / total);
      }
      s.max_vio = MaxViolation(s.load);
      s.load_entropy = LoadEntropy(s.load);
      s.loss = loss_cpu[static_cast<int64_t>(i)].item<double>();
      stats_.push_back(std::move(s));
    }
    if (options_.balancing.method == BalancingMethod::kAuxFree) {
      for (size_t i = 0; i < options_.layers.size(); ++i) {
        PathwayRouter r = model.router(options_.layers[i]);
        if (r.is_empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("LoadBalancer::EndStep: layer ", options_.layers[i], " is not routed"));
        }
        torch::Tensor load = counts_[static_cast<int64_t>(i)];
        torch::Tensor delta = (load.mean() - load).sign() * options_.balancing.bias_update_rate;
        r->selection_bias().add_(delta.to(r->selection_bias().device()));
        r->set_use_selection_bias(true);
      }
    }
    ++steps_;
    return absl::OkStatus();
  });
}

std::map<std::string, torch::Tensor> LoadBalancer::StateDict() const {
  std::map<std::string, torch::Tensor> out;
  out["balancing.ema_f"] = ema_f_.detach().to(torch::kCPU).clone();
  out["balancing.has_ema"] = torch::tensor({has_ema_ ? int64_t{1} : int64_t{0}});
  out["balancing.steps"] = torch::tensor({steps_});
  return out;
}

absl::Status LoadBalancer::LoadStateDict(const std::map<std::string, torch::Tensor>& state) {
  for (const char* key : {"balancing.ema_f", "balancing.has_ema", "balancing.steps"}) {
    if (state.find(key) == state.end()) {
      return absl::NotFoundError(absl::StrCat("balancer state: tensor '", key, "' is missing"));
    }
  }
  const torch::Tensor& ema = state.at("balancing.ema_f");
  if (ema.sizes() != ema_f_.sizes()) {
    return absl::InvalidArgumentError(
        absl::StrCat("balancer state: tensor 'balancing.ema_f' has shape ", c10::str(ema.sizes()),
                     ", expected ", c10::str(ema_f_.sizes())));
  }
  return TorchCall("LoadBalancer::LoadStateDict", [&]() {
    torch::NoGradGuard no_grad;
    ema_f_.copy_(ema.to(torch::kFloat));
    has_ema_ = state.at("balancing.has_ema").item<int64_t>() != 0;
    steps_ = state.at("balancing.steps").item<int64_t>();
  });
}

}  // namespace monoroute::model
