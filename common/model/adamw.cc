// FusedAdamW: single-pass CPU kernel; device-side step counter on CUDA.
#include "common/model/adamw.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "absl/strings/str_cat.h"

namespace monoroute::model {

FusedAdamW::FusedAdamW(std::vector<torch::Tensor> params, const AdamWOptions& options)
    : params_(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    exp_avg_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
    exp_avg_sq_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
  }
  if (!params_.empty() && params_[0].is_cuda()) {
    step_t_ = torch::zeros({}, params_[0].options().dtype(torch::kFloat));
  }
}

void FusedAdamW::ZeroGrad() {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad().reset();
  }
}

void FusedAdamW::Step() {
  torch::NoGradGuard no_grad;
  ++step_;
  const double b1 = options_.beta1, b2 = options_.beta2, lr = options_.lr;
  const double decay = 1.0 - lr * options_.weight_decay;
  if (step_t_.defined()) {
    // CUDA: bias corrections from the device step counter (graph-capturable, no host scalars
    // that change per step).
    step_t_.add_(1.0);
    torch::Tensor bc1 = 1.0 - torch::pow(b1, step_t_);
    torch::Tensor bc2_sqrt = torch::sqrt(1.0 - torch::pow(b2, step_t_));
    torch::Tensor step_size = lr / bc1;
    for (size_t i = 0; i < params_.size(); ++i) {
      torch::Tensor& p = params_[i];
      if (!p.grad().defined()) continue;
      const torch::Tensor g = p.grad();
      p.mul_(decay);
      exp_avg_[i].lerp_(g, 1.0 - b1);
      exp_avg_sq_[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
      torch::Tensor denom = (exp_avg_sq_[i].sqrt() / bc2_sqrt).add_(options_.eps);
      p.sub_(exp_avg_[i] / denom * step_size);
    }
    return;
  }
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step_));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(step_)));
  const float step_size = static_cast<float>(lr / bc1);
  const float inv_bc2 = static_cast<float>(1.0 / bc2_sqrt);
  const float eps = static_cast<float>(options_.eps);
  const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
  const float fdecay = static_cast<float>(decay);
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    torch::Tensor g = p.grad().contiguous();
    if (!p.is_contiguous() || p.scalar_type() != torch::kFloat ||
        g.scalar_type() != torch::kFloat) {
      // Generic fallback (same formula with tensor ops).
      p.mul_(decay);
      exp_avg_[i].mul_(b1).add_(g, 1.0 - b1);
      exp_avg_sq_[i].mul_(b2).addcmul_(g, g, 1.0 - b2);
      torch::Tensor denom = (exp_avg_sq_[i].sqrt() / bc2_sqrt).add_(options_.eps);
      p.addcdiv_(exp_avg_[i], denom, -lr / bc1);
      continue;
    }
    float* pp = p.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    float* mp = exp_avg_[i].data_ptr<float>();
    float* vp = exp_avg_sq_[i].data_ptr<float>();
    at::parallel_for(0, p.numel(), 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) {
        const float gj = gp[j];
        float pj = pp[j] * fdecay;
        const float m = mp[j] * fb1 + (1.0f - fb1) * gj;
        const float v = vp[j] * fb2 + (1.0f - fb2) * gj * gj;
        mp[j] = m;
        vp[j] = v;
        pj -= step_size * m / (std::sqrt(v) * inv_bc2 + eps);
        pp[j] = pj;
      }
    });
  }
}

std::map<std::string, torch::Tensor> FusedAdamW::StateDict() const {
  std::map<std::string, torch::Tensor> out;
  out["adamw.step"] = torch::tensor({step_});
  for (size_t i = 0; i < params_.size(); ++i) {
    out[absl::StrCat("adamw.exp_avg.", i)] = exp_avg_[i].detach().to(torch::kCPU).clone();
    out[absl::StrCat("adamw.exp_avg_sq.", i)] = exp_avg_sq_[i].detach().to(torch::kCPU).clone();
  }
  return out;
}

absl::Status FusedAdamW::LoadStateDict(const std::map<std::string, torch::Tensor>& state) {
  auto get = [&](const std::string& k, const torch::Tensor& like) -> absl::Status {
    auto it = state.find(k);
    if (it == state.end())
      return absl::NotFoundError(absl::StrCat("optimizer state: tensor '", k, "' is missing"));
    if (it->second.sizes() != like.sizes()) {
      return absl::InvalidArgumentError(
          absl::StrCat("optimizer state: tensor '", k, "' has the wrong shape"));
    }
    return absl::OkStatus();
  };
  auto it = state.find("adamw.step");
  if (it == state.end())
    return absl::NotFoundError("optimizer state: tensor 'adamw.step' is missing");
  for (size_t i = 0; i < params_.size(); ++i) {
    if (auto s = get(absl::StrCat("adamw.exp_avg.", i), exp_avg_[i]); !s.ok()) return s;
    if (auto s = get(absl::StrCat("adamw.exp_avg_sq.", i), exp_avg_sq_[i]); !s.ok()) return s;
  }
  torch::NoGradGuard ng;
  step_ = it->second.item<int64_t>();
  if (step_t_.defined()) step_t_.fill_(static_cast<double>(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].copy_(state.at(absl::StrCat("adamw.exp_avg.", i)));
    exp_avg_sq_[i].copy_(state.at(absl::StrCat("adamw.exp_avg_sq.", i)));
  }
  return absl::OkStatus();
}

}  // namespace monoroute::model
