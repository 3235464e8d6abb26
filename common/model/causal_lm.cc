// CausalLM forward (HF-exact GPT-Neo, GPT-NeoX and GPT-2) with optional pathway-routed MLPs.
#include "common/model/causal_lm.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace monoroute::model {
namespace {

bool IsNeoX(const ModelConfig& c) { return c.family == ModelFamily::kGPTNeoX; }

torch::nn::LayerNorm MakeLayerNorm(const ModelConfig& c) {
  return torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_epsilon));
}

void InitLayerNorm(const torch::nn::LayerNorm& l) {
  torch::NoGradGuard no_grad;
  l->weight.fill_(1.0);
  l->bias.zero_();
}

void InitLinear(const torch::nn::Linear& l, double std) {
  torch::NoGradGuard no_grad;
  l->weight.normal_(0.0, std);
  if (l->bias.defined()) l->bias.zero_();
}

}  // namespace

MLPOptions MlpOptionsFor(const ModelConfig& config) {
  MLPOptions o;
  o.hidden_size = config.hidden_size;
  o.intermediate_size = config.intermediate_size;
  o.activation =
      config.activation_function == "gelu" ? MlpActivation::kGelu : MlpActivation::kGeluNew;
  if (IsNeoX(config)) {
    o.fc_name = "dense_h_to_4h";
    o.proj_name = "dense_4h_to_h";
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
BlockImpl::BlockImpl(const ModelConfig& config, int64_t layer)
    : layer_(layer), parallel_residual_(IsNeoX(config) && config.use_parallel_residual) {
  const bool neox = IsNeoX(config);
  ln_1 = register_module(neox ? "input_layernorm" : "ln_1", MakeLayerNorm(config));
  attention = MakeAttention(config, layer);
  if (config.family == ModelFamily::kGPTNeo) {
    auto attn = register_module("attn", std::make_shared<torch::nn::Module>());
    attn->register_module("attention", attention);
  } else {
    register_module(neox ? "attention" : "attn", attention);
  }
  ln_2 = register_module(neox ? "post_attention_layernorm" : "ln_2", MakeLayerNorm(config));
  dense_mlp = register_module("mlp", DenseMLP(MlpOptionsFor(config)));
}

void BlockImpl::InitWeights(double std) {
  InitLayerNorm(ln_1);
  InitLayerNorm(ln_2);
  attention->InitWeights(std);
  InitLinear(routed() ? routed_mlp->c_fc : dense_mlp->c_fc, std);
  InitLinear(routed() ? routed_mlp->c_proj : dense_mlp->c_proj, std);
}

void BlockImpl::MakeRouted(const RoutedMLPOptions& options) {
  RoutedMLP r(options);
  r->to(dense_mlp->c_fc->weight.device());
  r->CopyDenseWeights(*dense_mlp);
  routed_mlp = replace_module("mlp", r);
  dense_mlp = DenseMLP(nullptr);
}

torch::Tensor BlockImpl::Mlp(const torch::Tensor& n2, RoutingInfo* routing, torch::Dtype dt,
                             const ForwardOptions::DenseSliceProbe* slices) {
  const bool is_routed = !routed_mlp.is_empty();
  torch::nn::Linear fc = is_routed ? routed_mlp->c_fc : dense_mlp->c_fc;
  torch::nn::Linear proj = is_routed ? routed_mlp->c_proj : dense_mlp->c_proj;
  const MlpActivation act =
      is_routed ? routed_mlp->options().mlp.activation : dense_mlp->options().activation;
  if (slices != nullptr) {
    // Dense MLP (the routed block's up / down projections are the dense weights), slices ranked
    // by the L2 norm of their activations.
    torch::Tensor x2d = n2.reshape({-1, n2.size(-1)});
    torch::Tensor hmid = Activate(LinearIn(fc, x2d, dt), act);
    torch::Tensor m = LinearIn(proj, hmid, dt).view(n2.sizes());
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
    return m;
  }
  if (!is_routed) {
    return dt == torch::kFloat ? dense_mlp->forward(n2)
                               : LinearIn(proj, Activate(LinearIn(fc, n2, dt), act), dt);
  }
  RoutingInfo info = routed_mlp->router(n2);
  torch::Tensor m;
  if (dt == torch::kFloat) {
    m = routed_mlp->ApplyRouting(n2, info.topk_indices, info.topk_weights);
  } else {
    // Mixed precision: run the MLP slices in dt by temporarily casting inputs only.
    torch::Tensor x2d = n2.reshape({-1, n2.size(-1)});
    const int64_t n = x2d.size(0), p = routed_mlp->options().router.num_pathways;
    const int64_t k = info.topk_indices.size(1);
    torch::Tensor hmid = Activate(LinearIn(fc, x2d, dt), act);
    torch::Tensor gate =
        torch::zeros({n, p}, info.topk_weights.options())
            .scatter(1, info.topk_indices,
                     info.topk_weights * static_cast<double>(k) /* gate scale, see routed_mlp.h */);
    hmid = (hmid.view({n, p, -1}) * gate.unsqueeze(-1)).view({n, -1});
    m = LinearIn(proj, hmid, dt).view(n2.sizes());
  }
  info.layer = layer_;
  if (routing != nullptr) *routing = std::move(info);
  return m;
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, RoutingInfo* routing, torch::Dtype dt,
                                 const ForwardOptions::DenseSliceProbe* slices) {
  torch::Tensor a = attention->forward(ln_1(x), dt);
  if (parallel_residual_) {
    // GPT-NeoX: mlp_output + attn_output + hidden_states, both from the block input.
    return Mlp(ln_2(x), routing, dt, slices) + a + x;
  }
  torch::Tensor hs = x + a;
  return hs + Mlp(ln_2(hs), routing, dt, slices);
}

// ---------------------------------------------------------------------------------------------
CausalLMImpl::CausalLMImpl(const ModelConfig& config, const std::optional<RoutingConfig>& routing)
    : config_(config) {
  const bool neox = IsNeoX(config);
  transformer =
      register_module(neox ? "gpt_neox" : "transformer", std::make_shared<torch::nn::Module>());
  wte = transformer->register_module(neox ? "embed_in" : "wte",
                                     torch::nn::Embedding(config.vocab_size, config.hidden_size));
  if (!neox) {
    wpe = transformer->register_module(
        "wpe", torch::nn::Embedding(config.max_position_embeddings, config.hidden_size));
  }
  h = transformer->register_module(neox ? "layers" : "h", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_layers; ++i) {
    blocks.push_back(Block(config, i));
    h->push_back(blocks.back());
  }
  ln_f = transformer->register_module(neox ? "final_layer_norm" : "ln_f", MakeLayerNorm(config));
  if (!config.tie_word_embeddings) {
    lm_head = register_module(
        "embed_out",
        torch::nn::Linear(
            torch::nn::LinearOptions(config.hidden_size, config.vocab_size).bias(false)));
  }
  InitWeights();
  if (routing.has_value()) {
    absl::Status s = EnableRouting(*routing);
    TORCH_CHECK(s.ok(), std::string(s.message()));
  }
}

void CausalLMImpl::InitWeights(double std) {
  torch::NoGradGuard no_grad;
  wte->weight.normal_(0.0, std);
  if (!wpe.is_empty()) wpe->weight.normal_(0.0, std);
  for (auto& b : blocks) b->InitWeights(std);
  InitLayerNorm(ln_f);
  if (!lm_head.is_empty()) lm_head->weight.normal_(0.0, std);
}

absl::Status CausalLMImpl::EnableRouting(const RoutingConfig& routing) {
  if (routing_.has_value()) return absl::FailedPreconditionError("model is already routed");
  if (absl::Status s = routing.Validate(config_); !s.ok()) return s;
  RoutedMLPOptions o;
  o.mlp = MlpOptionsFor(config_);
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

ForwardOutput CausalLMImpl::forward(const torch::Tensor& input_ids, const ForwardOptions& options) {
  TORCH_CHECK(input_ids.dim() == 2, "input_ids must be [B, T], got ", input_ids.sizes());
  const int64_t t = input_ids.size(1);
  TORCH_CHECK(t <= config_.max_position_embeddings, "sequence length ", t,
              " exceeds max_position_embeddings ", config_.max_position_embeddings);
  ForwardOutput out;
  torch::Tensor ids = input_ids.to(wte->weight.device(), torch::kLong);
  torch::Tensor x = wte(ids);
  if (!wpe.is_empty()) x = x + wpe->weight.narrow(0, 0, t).unsqueeze(0);
  if (options.return_block_outputs) out.embeddings = x;
  const auto& probe = options.dense_slices;
  for (int64_t l = 0; l < static_cast<int64_t>(blocks.size()); ++l) {
    const bool probed =
        probe.num_pathways > 0 &&
        std::find(probe.layers.begin(), probe.layers.end(), l) != probe.layers.end();
    if (probed) {
      const int64_t width = config_.intermediate_size;
      TORCH_CHECK(
          probe.top_k >= 1 && probe.top_k <= probe.num_pathways && width % probe.num_pathways == 0,
          "dense-slice probe: ", probe.num_pathways, " slices, top ", probe.top_k, " of ", width,
          " neurons");
    }
    RoutingInfo info;
    x = blocks[l]->forward(x, &info, options.compute_dtype, probed ? &probe : nullptr);
    if (options.return_block_outputs) out.block_outputs.push_back(x);
    if ((probed || blocks[l]->routed()) && options.return_routing) {
      out.routing.push_back(std::move(info));
    }
  }
  out.final_norm = ln_f(x);
  if (options.return_logits) out.logits = torch::matmul(out.final_norm, lm_head_weight().t());
  return out;
}

absl::Status CausalLMImpl::SetPathwayMask(int64_t layer, const torch::Tensor& enabled) {
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

void CausalLMImpl::SetRoutedCompute(RoutedCompute compute) {
  for (auto& b : blocks) {
    if (b->routed()) b->routed_mlp->set_compute(compute);
  }
}

std::vector<int64_t> CausalLMImpl::routed_layers() const {
  std::vector<int64_t> out;
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (blocks[i]->routed()) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

PathwayRouter CausalLMImpl::router(int64_t layer) const {
  if (layer < 0 || layer >= static_cast<int64_t>(blocks.size()) || !blocks[layer]->routed()) {
    return PathwayRouter(nullptr);
  }
  return blocks[layer]->routed_mlp->router;
}

std::vector<torch::Tensor> CausalLMImpl::router_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& b : blocks) {
    if (!b->routed()) continue;
    for (auto& p : b->routed_mlp->router->parameters()) out.push_back(p);
  }
  return out;
}

std::vector<torch::Tensor> CausalLMImpl::base_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& kv : named_parameters()) {
    if (kv.key().find(".mlp.router.") == std::string::npos) out.push_back(kv.value());
  }
  return out;
}

}  // namespace monoroute::model
