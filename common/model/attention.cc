// Causal self-attention of GPT-Neo, GPT-NeoX and GPT-2 (HF-exact) over one attention core.
#include "common/model/attention.h"

#include <torch/version.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/model/cpu_attention.h"
#include "common/model/cpu_linear.h"

namespace monoroute::model {
namespace {

// Additive [T, T] fp32 mask: 0 where query i may see key j (j <= i, and i - window < j when
// window > 0), -inf elsewhere (every row keeps j == i).
torch::Tensor MaskBias(int64_t t, int64_t window, const torch::Device& device) {
  torch::Tensor i = torch::arange(t, torch::TensorOptions().dtype(torch::kLong).device(device));
  torch::Tensor allowed = i.unsqueeze(0) <= i.unsqueeze(1);  // [query, key]: j <= i
  if (window > 0) allowed = allowed & (i.unsqueeze(0) > i.unsqueeze(1) - window);
  return torch::zeros({t, t}, torch::TensorOptions().dtype(torch::kFloat).device(device))
      .masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
}

void InitLinear(const torch::nn::Linear& l, double std) {
  torch::NoGradGuard no_grad;
  l->weight.normal_(0.0, std);
  if (l->bias.defined()) l->bias.zero_();
}

#if TORCH_VERSION_MAJOR >= 2
// LibTorch 2.x on CUDA: fused scaled_dot_product_attention instead of materialising
// [B*nh, T, T] scores. Disabled for the process after the first failure (e.g. no kernel for this
// shape), falling back to the explicit path.
std::atomic<bool> g_sdpa_ok{true};
#endif

}  // namespace

torch::Tensor LinearIn(const torch::nn::Linear& l, const torch::Tensor& x, torch::Dtype dt) {
  if (dt == torch::kFloat) return Linear(x, l->weight, l->bias);  // split over the pool on CPU
  torch::Tensor b = l->bias.defined() ? l->bias.to(dt) : torch::Tensor();
  return torch::nn::functional::linear(x.to(dt), l->weight.to(dt), b).to(torch::kFloat);
}

torch::Tensor AttendHeads(const torch::Tensor& q4, const torch::Tensor& k4, const torch::Tensor& v4,
                          int64_t window, double scale) {
  const int64_t b = q4.size(0), nh = q4.size(1), t = q4.size(2), d = q4.size(3);
  const int64_t h = nh * d;
#if TORCH_VERSION_MAJOR >= 2
  if (q4.is_cuda() && g_sdpa_ok.load()) {
    try {
      const bool causal_only = window <= 0 || window >= t;
      std::optional<torch::Tensor> mask;
      if (!causal_only) mask = MaskBias(t, window, q4.device());
      torch::Tensor y4 =
          at::scaled_dot_product_attention(q4.to(torch::kFloat), k4.to(torch::kFloat),
                                           v4.to(torch::kFloat), mask, 0.0, causal_only, scale);
      return y4.transpose(1, 2).reshape({b, t, h});
    } catch (const std::exception& e) {
      g_sdpa_ok.store(false);
      std::fprintf(stderr, "scaled_dot_product_attention unavailable (%s); explicit attention\n",
                   e.what());
    }
  }
#endif
  torch::Tensor q = q4.reshape({b * nh, t, d}).to(torch::kFloat);
  torch::Tensor k = k4.reshape({b * nh, t, d}).to(torch::kFloat);
  torch::Tensor v = v4.reshape({b * nh, t, d});
  if (v.scalar_type() == torch::kFloat && CpuAttentionSupported(q)) {
    torch::Tensor qs = scale == 1.0 ? q : q * scale;
    return CpuAttention(qs, k.contiguous(), v.contiguous(), window)
        .view({b, nh, t, d})
        .transpose(1, 2)
        .reshape({b, t, h});
  }
  // fp32 scores; masked entries -inf.
  torch::Tensor scores =
      torch::baddbmm(MaskBias(t, window, q.device()), q, k.transpose(1, 2), 1.0, scale);
  torch::Tensor probs = torch::softmax(scores, -1).to(v.scalar_type());
  return torch::bmm(probs, v).view({b, nh, t, d}).transpose(1, 2).reshape({b, t, h});
}

std::shared_ptr<AttentionImpl> MakeAttention(const ModelConfig& config, int64_t layer) {
  switch (config.family) {
    case ModelFamily::kGPTNeoX:
      return std::make_shared<GPTNeoXAttentionImpl>(config);
    case ModelFamily::kGPT2:
      return std::make_shared<GPT2AttentionImpl>(config);
    case ModelFamily::kGPTNeo:
      break;
  }
  return std::make_shared<GPTNeoSelfAttentionImpl>(config, config.is_local(layer));
}

// ---------------------------------------------------------------------------------------------
GPTNeoSelfAttentionImpl::GPTNeoSelfAttentionImpl(const ModelConfig& config, bool local)
    : num_heads_(config.num_heads), window_(config.window_size), local_(local) {
  const int64_t h = config.hidden_size;
  k_proj = register_module("k_proj", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(false)));
  v_proj = register_module("v_proj", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(false)));
  q_proj = register_module("q_proj", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(false)));
  out_proj = register_module("out_proj", torch::nn::Linear(h, h));
}

void GPTNeoSelfAttentionImpl::InitWeights(double std) {
  for (const auto& l : {q_proj, k_proj, v_proj, out_proj}) InitLinear(l, std);
}

torch::Tensor GPTNeoSelfAttentionImpl::forward(const torch::Tensor& x, torch::Dtype dt) {
  const int64_t b = x.size(0), t = x.size(1), h = x.size(2);
  const int64_t d = h / num_heads_;
  // One fused q/k/v projection.
  torch::Tensor w = torch::cat({q_proj->weight, k_proj->weight, v_proj->weight}, 0);
  torch::Tensor qkv =
      dt == torch::kFloat ? Linear(x, w, torch::Tensor()) : torch::matmul(x.to(dt), w.to(dt).t());
  // [B, T, 3, nh, d] -> [3, B, nh, T, d]
  qkv = qkv.view({b, t, 3, num_heads_, d}).permute({2, 0, 3, 1, 4});
  // GPT-Neo: no 1/sqrt(d) scaling.
  torch::Tensor y = AttendHeads(qkv[0], qkv[1], qkv[2], local_ ? window_ : 0, 1.0);
  return LinearIn(out_proj, y, dt);
}

// ---------------------------------------------------------------------------------------------
GPTNeoXAttentionImpl::GPTNeoXAttentionImpl(const ModelConfig& config)
    : num_heads_(config.num_heads), rotary_ndims_(config.rotary_ndims()) {
  const int64_t h = config.hidden_size;
  const bool bias = config.attention_bias;
  query_key_value = register_module(
      "query_key_value", torch::nn::Linear(torch::nn::LinearOptions(h, 3 * h).bias(bias)));
  dense = register_module("dense", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(bias)));
  // HF: 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
  inv_freq_ = torch::reciprocal(torch::pow(
      config.rotary_emb_base, torch::arange(0, rotary_ndims_, 2, torch::kLong).to(torch::kFloat) /
                                  static_cast<double>(rotary_ndims_)));
}

void GPTNeoXAttentionImpl::InitWeights(double std) {
  InitLinear(query_key_value, std);
  InitLinear(dense, std);
}

torch::Tensor GPTNeoXAttentionImpl::Rotate(const torch::Tensor& x) {
  if (rotary_ndims_ == 0) return x;
  const int64_t t = x.size(2);
  if (!cos_.defined() || cos_.size(0) != t || cos_.device() != x.device()) {
    // HF GPTNeoXRotaryEmbedding: freqs = outer(t, inv_freq); emb = cat(freqs, freqs).
    torch::Tensor pos = torch::arange(t, torch::kLong).to(torch::kFloat);
    torch::Tensor freqs = torch::outer(pos, inv_freq_);
    torch::Tensor emb = torch::cat({freqs, freqs}, -1);
    cos_ = emb.cos().to(x.device());
    sin_ = emb.sin().to(x.device());
  }
  torch::Tensor rot = x.narrow(-1, 0, rotary_ndims_);
  torch::Tensor pass = x.narrow(-1, rotary_ndims_, x.size(-1) - rotary_ndims_);
  // rotate_half: cat(-x2, x1) of the two halves.
  const int64_t half = rotary_ndims_ / 2;
  torch::Tensor rotated =
      torch::cat({-rot.narrow(-1, half, rotary_ndims_ - half), rot.narrow(-1, 0, half)}, -1);
  torch::Tensor out = rot * cos_.to(rot.scalar_type()) + rotated * sin_.to(rot.scalar_type());
  return torch::cat({out, pass}, -1);
}

torch::Tensor GPTNeoXAttentionImpl::forward(const torch::Tensor& x, torch::Dtype dt) {
  const int64_t b = x.size(0), t = x.size(1), h = x.size(2);
  const int64_t d = h / num_heads_;
  // [B, T, 3H] -> [B, T, nh, 3d]: per head [q | k | v] -> each [B, nh, T, d].
  torch::Tensor qkv = LinearIn(query_key_value, x, dt).view({b, t, num_heads_, 3 * d});
  torch::Tensor q = qkv.narrow(-1, 0, d).permute({0, 2, 1, 3});
  torch::Tensor k = qkv.narrow(-1, d, d).permute({0, 2, 1, 3});
  torch::Tensor v = qkv.narrow(-1, 2 * d, d).permute({0, 2, 1, 3});
  torch::Tensor y =
      AttendHeads(Rotate(q), Rotate(k), v, 0, 1.0 / std::sqrt(static_cast<double>(d)));
  return LinearIn(dense, y, dt);
}

// ---------------------------------------------------------------------------------------------
GPT2AttentionImpl::GPT2AttentionImpl(const ModelConfig& config) : num_heads_(config.num_heads) {
  const int64_t h = config.hidden_size;
  c_attn = register_module("c_attn", torch::nn::Linear(h, 3 * h));
  c_proj = register_module("c_proj", torch::nn::Linear(h, h));
}

void GPT2AttentionImpl::InitWeights(double std) {
  InitLinear(c_attn, std);
  InitLinear(c_proj, std);
}

torch::Tensor GPT2AttentionImpl::forward(const torch::Tensor& x, torch::Dtype dt) {
  const int64_t b = x.size(0), t = x.size(1), h = x.size(2);
  const int64_t d = h / num_heads_;
  // [B, T, 3H] = [Q | K | V] blocks of H -> [3, B, nh, T, d].
  torch::Tensor qkv =
      LinearIn(c_attn, x, dt).view({b, t, 3, num_heads_, d}).permute({2, 0, 3, 1, 4});
  torch::Tensor y = AttendHeads(qkv[0], qkv[1], qkv[2], 0, 1.0 / std::sqrt(static_cast<double>(d)));
  return LinearIn(c_proj, y, dt);
}

}  // namespace monoroute::model
