// Dense and pathway-routed MLPs (mask path and compute-only-selected gather path).
#include "common/model/routed_mlp.h"

#include <cmath>

#include "common/model/cpu_linear.h"

namespace monoroute::model {

torch::Tensor GeluNew(const torch::Tensor& x) {
  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): torch's tanh-approximate GELU is the same
  // formula in one kernel (forward and backward).
  return torch::gelu(x, "tanh");
}

torch::Tensor Activate(const torch::Tensor& x, MlpActivation activation) {
  return activation == MlpActivation::kGelu ? torch::gelu(x) : GeluNew(x);
}

DenseMLPImpl::DenseMLPImpl(const MLPOptions& options) : options_(options) {
  c_fc = register_module(options.fc_name,
                         torch::nn::Linear(options.hidden_size, options.intermediate_size));
  c_proj = register_module(options.proj_name,
                           torch::nn::Linear(options.intermediate_size, options.hidden_size));
}

torch::Tensor DenseMLPImpl::forward(const torch::Tensor& x) {
  return Linear(Activate(Linear(x, c_fc->weight, c_fc->bias), options_.activation), c_proj->weight,
                c_proj->bias);
}

RoutedMLPImpl::RoutedMLPImpl(const RoutedMLPOptions& options) : options_(options) {
  c_fc = register_module(options.mlp.fc_name,
                         torch::nn::Linear(options.mlp.hidden_size, options.mlp.intermediate_size));
  c_proj = register_module(options.mlp.proj_name, torch::nn::Linear(options.mlp.intermediate_size,
                                                                    options.mlp.hidden_size));
  router = register_module("router", PathwayRouter(options.router));
}

void RoutedMLPImpl::CopyDenseWeights(const DenseMLPImpl& dense) {
  torch::NoGradGuard no_grad;
  c_fc->weight.copy_(dense.c_fc->weight);
  c_fc->bias.copy_(dense.c_fc->bias);
  c_proj->weight.copy_(dense.c_proj->weight);
  c_proj->bias.copy_(dense.c_proj->bias);
}

std::pair<torch::Tensor, RoutingInfo> RoutedMLPImpl::forward(const torch::Tensor& x) {
  RoutingInfo info = router(x);
  torch::Tensor y = ApplyRouting(x, info.topk_indices, info.topk_weights);
  return {y, info};
}

torch::Tensor RoutedMLPImpl::ApplyRouting(const torch::Tensor& x, const torch::Tensor& idx,
                                          const torch::Tensor& w) {
  torch::Tensor x2d = x.reshape({-1, x.size(-1)});
  const RoutedCompute mode = PathFor(x2d, idx.size(1));
  torch::Tensor y =
      mode == RoutedCompute::kGather ? GatherPath(x2d, idx, w) : MaskPath(x2d, idx, w);
  auto shape = x.sizes().vec();
  shape.back() = y.size(-1);
  return y.view(shape);
}

RoutedCompute RoutedMLPImpl::PathFor(const torch::Tensor& x2d, int64_t k) const {
  if (options_.compute != RoutedCompute::kAuto) return options_.compute;
  RoutedMlpShape shape;
  shape.tokens = x2d.size(0);
  shape.hidden = options_.mlp.hidden_size;
  shape.intermediate = options_.mlp.intermediate_size;
  shape.pathways = options_.router.num_pathways;
  shape.top_k = k;
  return ChooseRoutedCompute(shape, x2d.device().is_cpu());
}

torch::Tensor RoutedMLPImpl::MaskPath(const torch::Tensor& x2d, const torch::Tensor& idx,
                                      const torch::Tensor& w) {
  const int64_t n = x2d.size(0);
  const int64_t p = options_.router.num_pathways;
  const int64_t k = idx.size(1);
  const int64_t inter = options_.mlp.intermediate_size;
  torch::Tensor h = Activate(Linear(x2d, c_fc->weight, c_fc->bias), options_.mlp.activation);
  // gate [N, P]: renormalised weight * P/k on the selected pathways, 0 elsewhere.
  torch::Tensor gate =
      torch::zeros({n, p}, w.options())
          .scatter(1, idx, w * static_cast<double>(k) /* gate scale, see routed_mlp.h */);
  h = (h.view({n, p, inter / p}) * gate.to(h.scalar_type()).unsqueeze(-1)).view({n, inter});
  return Linear(h, c_proj->weight, c_proj->bias);
}

torch::Tensor RoutedMLPImpl::GatherPath(const torch::Tensor& x2d, const torch::Tensor& idx,
                                        const torch::Tensor& w) {
  const int64_t n = x2d.size(0);
  const int64_t p = options_.router.num_pathways;
  const int64_t k = idx.size(1);
  const int64_t slice = options_.mlp.intermediate_size / p;
  const int64_t hidden = options_.mlp.hidden_size;
  // Assignments (token, pathway, weight) sorted by pathway; one matmul pair per pathway.
  torch::Tensor flat_p = idx.reshape({-1});
  auto sorted = flat_p.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false);
  torch::Tensor order = std::get<1>(sorted);
  torch::Tensor tok = torch::div(order, k, "floor");
  torch::Tensor ws = w.reshape({-1}).index_select(0, order) *
                     static_cast<double>(k) /* gate scale, see routed_mlp.h */;
  torch::Tensor counts = torch::bincount(flat_p, /*weights=*/{}, p).to(torch::kCPU);
  auto counts_a = counts.accessor<int64_t, 1>();
  torch::Tensor xs = x2d.index_select(0, tok);  // [N*k, H]
  // split (not narrow): its backward is one concatenation, where P narrows would each allocate
  // and add a gradient of the whole [N*k, H] input and the whole weight matrices.
  std::vector<int64_t> sizes(counts_a.data(), counts_a.data() + p);
  const std::vector<torch::Tensor> rows = xs.split_with_sizes(sizes, 0);
  const std::vector<torch::Tensor> wfc = c_fc->weight.split(slice, 0);    // [S, H] each
  const std::vector<torch::Tensor> bfc = c_fc->bias.split(slice, 0);      // [S] each
  const std::vector<torch::Tensor> wpr = c_proj->weight.split(slice, 1);  // [H, S] each
  std::vector<torch::Tensor> parts;
  parts.reserve(p);
  for (int64_t q = 0; q < p; ++q) {
    if (sizes[q] == 0) continue;
    torch::Tensor hq = Activate(torch::addmm(bfc[q], rows[q], wfc[q].t()), options_.mlp.activation);
    parts.push_back(hq.mm(wpr[q].t()));
  }
  torch::Tensor contrib = torch::cat(parts, 0) * ws.unsqueeze(1).to(x2d.scalar_type());
  torch::Tensor y = torch::zeros({n, hidden}, contrib.options()).index_add(0, tok, contrib);
  return y + c_proj->bias;
}

}  // namespace monoroute::model
