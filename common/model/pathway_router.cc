// PathwayRouter: router MLP, softmax with temperature, top-k, renormalised weights.
#include "common/model/pathway_router.h"

#include <limits>

#include "common/model/routed_mlp.h"

namespace monoroute::model {

RoutingInfo RoutingInfo::ToCpu() const {
  RoutingInfo out;
  out.layer = layer;
  if (probs.defined()) out.probs = probs.detach().to(torch::kCPU);
  if (topk_indices.defined()) out.topk_indices = topk_indices.to(torch::kCPU);
  if (topk_weights.defined()) out.topk_weights = topk_weights.detach().to(torch::kCPU);
  return out;
}

PathwayRouterImpl::PathwayRouterImpl(const PathwayRouterOptions& options) : options_(options) {
  fc1 = register_module("0", torch::nn::Linear(options.hidden_size, options.router_hidden));
  fc2 = register_module("2", torch::nn::Linear(options.router_hidden, options.num_pathways));
  selection_bias_ = register_buffer("selection_bias", torch::zeros({options.num_pathways}));
  torch::NoGradGuard no_grad;
  fc2->weight.normal_(0.0, options.output_init_std);
  fc2->bias.zero_();
}

RoutingInfo PathwayRouterImpl::forward(const torch::Tensor& x) {
  torch::Tensor x2 = x.reshape({-1, x.size(-1)});
  torch::Tensor hdn = fc1(x2.to(fc1->weight.scalar_type()));
  if (options_.activation == "relu") {
    hdn = torch::relu(hdn);
  } else if (options_.activation == "silu") {
    hdn = torch::silu(hdn);
  } else {
    hdn = GeluNew(hdn);
  }
  torch::Tensor scores = fc2(hdn).to(torch::kFloat);
  if (options_.temperature != 1.0) scores = scores / options_.temperature;
  if (disabled_.defined()) {
    scores =
        scores.masked_fill(disabled_.to(scores.device()), -std::numeric_limits<float>::infinity());
  }
  RoutingInfo info;
  info.probs = torch::softmax(scores, -1);
  torch::Tensor topv;
  if (use_selection_bias_) {
    torch::Tensor biased = info.probs.detach() + selection_bias_.to(info.probs.device());
    // A disabled pathway stays unselectable whatever its bias (ablation under aux-free balancing).
    if (disabled_.defined()) {
      biased = biased.masked_fill(disabled_.to(biased.device()),
                                  -std::numeric_limits<float>::infinity());
    }
    info.topk_indices = std::get<1>(biased.topk(options_.top_k, -1));
    topv = info.probs.gather(-1, info.topk_indices);
  } else {
    auto tk = info.probs.topk(options_.top_k, -1);
    topv = std::get<0>(tk);
    info.topk_indices = std::get<1>(tk);
  }
  info.topk_weights = topv / topv.sum(-1, /*keepdim=*/true);
  return info;
}

void PathwayRouterImpl::SetPathwayMask(const torch::Tensor& enabled) {
  if (!enabled.defined()) {
    disabled_ = torch::Tensor();
    return;
  }
  disabled_ = enabled.to(torch::kBool).logical_not().to(selection_bias_.device());
}

}  // namespace monoroute::model
