// GPT-Neo forward (HF-exact) with optional pathway-routed MLPs.
#include "common/model/gpt_neo.h"

#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/model/cpu_attention.h"

namespace monoroute::model {
namespace {

// Linear in `dt` (fp32 master weights cast per call for bf16), result back in fp32.
torch::Tensor Lin(const torch::nn::Linear& l, const torch::Tensor& x, torch::Dtype dt) {
  if (dt == torch::kFloat) return torch::nn::functional::linear(x, l->weight, l->bias);
  torch::Tensor b = l->bias.defined() ? l->bias.to(dt) : torch::Tensor();
  return torch::nn::functional::linear(x.to(dt), l->weight.to(dt), b).to(torch::kFloat);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
GPTNeoSelfAttentionImpl::GPTNeoSelfAttentionImpl(const GPTNeoConfig& config, bool local)
    : num_heads_(config.num_heads), window_(config.window_size), local_(local) {
  const int64_t h = config.hidden_size;
  k_proj = register_module("k_proj", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(false)));
  v_proj = register_module("v_proj", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(false)));
  q_proj = register_module("q_proj", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(false)));
  out_proj = register_module("out_proj", torch::nn::Linear(h, h));
}

torch::Tensor GPTNeoSelfAttentionImpl::MaskBias(int64_t t, const torch::Device& device) {
  if (mask_cache_.defined() && mask_cache_.size(0) == t && mask_cache_.device() == device) {
    return mask_cache_;
  }
  torch::Tensor i = torch::arange(t, torch::TensorOptions().dtype(torch::kLong).device(device));
  torch::Tensor allowed = i.unsqueeze(0) <= i.unsqueeze(1);  // [query, key]: j <= i
  if (local_) allowed = allowed & (i.unsqueeze(0) > i.unsqueeze(1) - window_);
  mask_cache_ = torch::zeros({t, t}, torch::TensorOptions().dtype(torch::kFloat).device(device))
                    .masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
  return mask_cache_;
}

#if TORCH_VERSION_MAJOR >= 2
// LibTorch 2.x on CUDA: fused scaled_dot_product_attention (memory-efficient kernel, fp32 q/k/v,
// scale 1 = GPT-Neo's unscaled scores) instead of materialising [B*nh, T, T] scores. Disabled for
// the process after the first failure (e.g. no kernel for this shape), falling back to the
// explicit path.
std::atomic<bool> g_sdpa_ok{true};
#endif

torch::Tensor GPTNeoSelfAttentionImpl::forward(const torch::Tensor& x, torch::Dtype dt) {
  const int64_t b = x.size(0), t = x.size(1), h = x.size(2);
  const int64_t d = h / num_heads_;
  // One fused q/k/v projection.
  torch::Tensor w = torch::cat({q_proj->weight, k_proj->weight, v_proj->weight}, 0);
  torch::Tensor qkv =
      dt == torch::kFloat ? torch::matmul(x, w.t()) : torch::matmul(x.to(dt), w.to(dt).t());
  // [B, T, 3, nh, d] -> [3, B, nh, T, d]
  qkv = qkv.view({b, t, 3, num_heads_, d}).permute({2, 0, 3, 1, 4});
#if TORCH_VERSION_MAJOR >= 2
  if (x.is_cuda() && g_sdpa_ok.load()) {
    try {
      torch::Tensor q4 = qkv[0].to(torch::kFloat), k4 = qkv[1].to(torch::kFloat),
                    v4 = qkv[2].to(torch::kFloat);
      const bool causal_only = !local_ || window_ >= t;
      std::optional<torch::Tensor> mask;
      if (!causal_only) mask = MaskBias(t, x.device());
      torch::Tensor y4 = at::scaled_dot_product_attention(q4, k4, v4, mask, 0.0, causal_only, 1.0);
      torch::Tensor y = y4.transpose(1, 2).reshape({b, t, h});
      return Lin(out_proj, y, dt);
    } catch (const std::exception& e) {
      g_sdpa_ok.store(false);
      std::fprintf(stderr, "scaled_dot_product_attention unavailable (%s); explicit attention\n",
                   e.what());
    }
  }
#endif
  torch::Tensor q = qkv[0].reshape({b * num_heads_, t, d}).to(torch::kFloat);
  torch::Tensor k = qkv[1].reshape({b * num_heads_, t, d}).to(torch::kFloat);
  torch::Tensor v = qkv[2].reshape({b * num_heads_, t, d});
  if (v.scalar_type() == torch::kFloat && CpuAttentionSupported(q)) {
    torch::Tensor y = CpuAttention(q, k, v, local_ ? window_ : 0)
                          .view({b, num_heads_, t, d})
                          .transpose(1, 2)
                          .reshape({b, t, h});
    return Lin(out_proj, y, dt);
  }
  // GPT-Neo: fp32 scores, no 1/sqrt(d) scaling; masked entries -inf (each row keeps j == i).
  torch::Tensor scores = torch::baddbmm(MaskBias(t, x.device()), q, k.transpose(1, 2));
  torch::Tensor probs = torch::softmax(scores, -1).to(v.scalar_type());
  torch::Tensor y = torch::bmm(probs, v)  // [B*nh, T, d]
                        .view({b, num_heads_, t, d})
                        .transpose(1, 2)
                        .reshape({b, t, h});
  return Lin(out_proj, y, dt);
}

// ---------------------------------------------------------------------------------------------
GPTNeoBlockImpl::GPTNeoBlockImpl(const GPTNeoConfig& config, int64_t layer) : layer_(layer) {
  const int64_t h = config.hidden_size;
  ln_1 = register_module(
      "ln_1",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(config.layer_norm_epsilon)));
  attn = register_module("attn", std::make_shared<torch::nn::Module>());
  attention =
      attn->register_module("attention", GPTNeoSelfAttention(config, config.is_local(layer)));
  ln_2 = register_module(
      "ln_2",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(config.layer_norm_epsilon)));
  GPTNeoMLPOptions mo;
  mo.hidden_size = h;
  mo.intermediate_size = config.intermediate_size;
  dense_mlp = register_module("mlp", GPTNeoMLP(mo));
}

void GPTNeoBlockImpl::MakeRouted(const RoutedMLPOptions& options) {
  RoutedMLP r(options);
  r->to(dense_mlp->c_fc->weight.device());
  r->CopyDenseWeights(*dense_mlp);
  routed_mlp = replace_module("mlp", r);
  dense_mlp = GPTNeoMLP(nullptr);
}

torch::Tensor GPTNeoBlockImpl::forward(const torch::Tensor& x, RoutingInfo* routing,
                                       torch::Dtype dt,
                                       const ForwardOptions::DenseSliceProbe* slices) {
  torch::Tensor hs = x + attention->forward(ln_1(x), dt);
  torch::Tensor n2 = ln_2(hs);
  torch::Tensor m;
  if (slices != nullptr) {
    // Dense MLP (the routed block's c_fc / c_proj are the dense weights), slices ranked by norm.
    torch::nn::Linear fc = routed_mlp.is_empty() ? dense_mlp->c_fc : routed_mlp->c_fc;
    torch::nn::Linear proj = routed_mlp.is_empty() ? dense_mlp->c_proj : routed_mlp->c_proj;
    torch::Tensor x2d = n2.reshape({-1, n2.size(-1)});
    torch::Tensor hmid = GeluNew(Lin(fc, x2d, dt));
    m = Lin(proj, hmid, dt).view(n2.sizes());
    const int64_t n = x2d.size(0);
    torch::Tensor norms =
        hmid.to(torch::kFloat).view({n, slices->num_pathways, -1}).pow(2).sum(-1).sqrt();
    RoutingInfo info;
    info.layer = layer_;
    info.probs = norms / norms.sum(-1, /*keepdim=*/true).clamp_min(1e-30);
    auto tk = norms.topk(slices->top_k, -1);
    info.topk_indices = std::get<1>(tk);
    torch::Tensor topv = std::get<0>(tk);
    info.topk_weights = topv / topv.sum(-1, /*keepdim=*/true).clamp_min(1e-30);
    if (routing != nullptr) *routing = std::move(info);
    return hs + m;
  }
  if (!routed_mlp.is_empty()) {
    RoutingInfo info = routed_mlp->router(n2);
    if (dt == torch::kFloat) {
      m = routed_mlp->ApplyRouting(n2, info.topk_indices, info.topk_weights);
    } else {
      // Mixed precision: run the MLP slices in dt by temporarily casting inputs only.
      torch::Tensor x2d = n2.reshape({-1, n2.size(-1)});
      const auto& o = routed_mlp->options();
      const int64_t n = x2d.size(0), p = o.router.num_pathways, k = info.topk_indices.size(1);
      torch::Tensor hmid = GeluNew(Lin(routed_mlp->c_fc, x2d, dt));
      torch::Tensor gate =
          torch::zeros({n, p}, info.topk_weights.options())
              .scatter(
                  1, info.topk_indices,
                  info.topk_weights * static_cast<double>(k) /* gate scale, see routed_mlp.h */);
      hmid = (hmid.view({n, p, -1}) * gate.unsqueeze(-1)).view({n, -1});
      m = Lin(routed_mlp->c_proj, hmid, dt).view(n2.sizes());
    }
    info.layer = layer_;
    if (routing != nullptr) *routing = std::move(info);
  } else if (dt == torch::kFloat) {
    m = dense_mlp->forward(n2);
  } else {
    m = Lin(dense_mlp->c_proj, GeluNew(Lin(dense_mlp->c_fc, n2, dt)), dt);
  }
  return hs + m;
}

// ---------------------------------------------------------------------------------------------
GPTNeoImpl::GPTNeoImpl(const GPTNeoConfig& config, const std::optional<RoutingConfig>& routing)
    : config_(config) {
  transformer = register_module("transformer", std::make_shared<torch::nn::Module>());
  wte = transformer->register_module("wte",
                                     torch::nn::Embedding(config.vocab_size, config.hidden_size));
  wpe = transformer->register_module(
      "wpe", torch::nn::Embedding(config.max_position_embeddings, config.hidden_size));
  h = transformer->register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_layers; ++i) {
    blocks.push_back(GPTNeoBlock(config, i));
    h->push_back(blocks.back());
  }
  ln_f = transformer->register_module(
      "ln_f",
      torch::nn::LayerNorm(
          torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_epsilon)));
  InitWeights();
  if (routing.has_value()) {
    absl::Status s = EnableRouting(*routing);
    TORCH_CHECK(s.ok(), std::string(s.message()));
  }
}

void GPTNeoImpl::InitWeights(double std) {
  torch::NoGradGuard no_grad;
  wte->weight.normal_(0.0, std);
  wpe->weight.normal_(0.0, std);
  auto init_linear = [std](const torch::nn::Linear& l) {
    l->weight.normal_(0.0, std);
    if (l->bias.defined()) l->bias.zero_();
  };
  auto init_ln = [](const torch::nn::LayerNorm& l) {
    l->weight.fill_(1.0);
    l->bias.zero_();
  };
  for (auto& b : blocks) {
    init_ln(b->ln_1);
    init_ln(b->ln_2);
    init_linear(b->attention->q_proj);
    init_linear(b->attention->k_proj);
    init_linear(b->attention->v_proj);
    init_linear(b->attention->out_proj);
    if (b->routed()) {
      init_linear(b->routed_mlp->c_fc);
      init_linear(b->routed_mlp->c_proj);
    } else {
      init_linear(b->dense_mlp->c_fc);
      init_linear(b->dense_mlp->c_proj);
    }
  }
  init_ln(ln_f);
}

absl::Status GPTNeoImpl::EnableRouting(const RoutingConfig& routing) {
  if (routing_.has_value()) return absl::FailedPreconditionError("model is already routed");
  if (absl::Status s = routing.Validate(config_); !s.ok()) return s;
  RoutedMLPOptions o;
  o.mlp.hidden_size = config_.hidden_size;
  o.mlp.intermediate_size = config_.intermediate_size;
  o.router.hidden_size = config_.hidden_size;
  o.router.router_hidden = routing.router_hidden;
  o.router.num_pathways = routing.num_pathways;
  o.router.top_k = routing.top_k;
  o.router.activation = routing.router_activation;
  o.router.temperature = routing.temperature;
  for (int64_t l : routing.RoutedLayers(config_.num_layers)) {
    blocks[l]->MakeRouted(o);
    blocks[l]->routed_mlp->router->set_use_selection_bias(routing.balancing.method ==
                                                          BalancingMethod::kAuxFree);
  }
  routing_ = routing;
  return absl::OkStatus();
}

ForwardOutput GPTNeoImpl::forward(const torch::Tensor& input_ids, const ForwardOptions& options) {
  TORCH_CHECK(input_ids.dim() == 2, "input_ids must be [B, T], got ", input_ids.sizes());
  const int64_t t = input_ids.size(1);
  TORCH_CHECK(t <= config_.max_position_embeddings, "sequence length ", t,
              " exceeds max_position_embeddings ", config_.max_position_embeddings);
  ForwardOutput out;
  torch::Tensor ids = input_ids.to(wte->weight.device(), torch::kLong);
  torch::Tensor x = wte(ids) + wpe->weight.narrow(0, 0, t).unsqueeze(0);
  if (options.return_block_outputs) out.embeddings = x;
  const auto& probe = options.dense_slices;
  for (int64_t l = 0; l < static_cast<int64_t>(blocks.size()); ++l) {
    const bool probed = probe.num_pathways > 0 &&
                        std::find(probe.layers.begin(), probe.layers.end(), l) != probe.layers.end();
    if (probed) {
      const int64_t width = config_.intermediate_size;
      TORCH_CHECK(probe.top_k >= 1 && probe.top_k <= probe.num_pathways &&
                      width % probe.num_pathways == 0,
                  "dense-slice probe: ", probe.num_pathways, " slices, top ", probe.top_k,
                  " of ", width, " neurons");
    }
    RoutingInfo info;
    x = blocks[l]->forward(x, &info, options.compute_dtype, probed ? &probe : nullptr);
    if (options.return_block_outputs) out.block_outputs.push_back(x);
    if ((probed || blocks[l]->routed()) && options.return_routing) {
      out.routing.push_back(std::move(info));
    }
  }
  out.final_norm = ln_f(x);
  if (options.return_logits) out.logits = torch::matmul(out.final_norm, wte->weight.t());
  return out;
}

absl::Status GPTNeoImpl::SetPathwayMask(int64_t layer, const torch::Tensor& enabled) {
  if (layer < 0 || layer >= config_.num_layers || !blocks[layer]->routed()) {
    return absl::InvalidArgumentError(absl::StrCat("layer ", layer, " is not a routed layer"));
  }
  if (enabled.defined()) {
    const auto& ro = blocks[layer]->routed_mlp->router->options();
    if (enabled.dim() != 1 || enabled.size(0) != ro.num_pathways) {
      return absl::InvalidArgumentError(
          absl::StrCat("pathway mask must have shape [", ro.num_pathways, "]"));
    }
    if (enabled.to(torch::kBool).sum().item<int64_t>() < ro.top_k) {
      return absl::InvalidArgumentError(
          absl::StrCat("pathway mask must keep at least top_k=", ro.top_k, " pathways enabled"));
    }
  }
  blocks[layer]->routed_mlp->router->SetPathwayMask(enabled);
  return absl::OkStatus();
}

void GPTNeoImpl::SetRoutedCompute(RoutedCompute compute) {
  for (auto& b : blocks) {
    if (b->routed()) b->routed_mlp->set_compute(compute);
  }
}

std::vector<int64_t> GPTNeoImpl::routed_layers() const {
  std::vector<int64_t> out;
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (blocks[i]->routed()) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

PathwayRouter GPTNeoImpl::router(int64_t layer) const {
  if (layer < 0 || layer >= static_cast<int64_t>(blocks.size()) || !blocks[layer]->routed()) {
    return PathwayRouter(nullptr);
  }
  return blocks[layer]->routed_mlp->router;
}

std::vector<torch::Tensor> GPTNeoImpl::router_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& b : blocks) {
    if (!b->routed()) continue;
    for (auto& p : b->routed_mlp->router->parameters()) out.push_back(p);
  }
  return out;
}

std::vector<torch::Tensor> GPTNeoImpl::base_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& kv : named_parameters()) {
    if (kv.key().find(".mlp.router.") == std::string::npos) out.push_back(kv.value());
  }
  return out;
}

}  // namespace monoroute::model
