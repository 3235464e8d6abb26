// Pathway ablation: per-token CE with and without a pathway, split by whether the intact router
// selected it.
#include "common/engine/ablation.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "common/engine/eval_data.h"
#include "common/engine/job_spec.h"
#include "common/engine/model_factory.h"
#include "common/engine/sequence_sampler.h"
#include "common/model/checkpoint.h"
#include "common/model/cpu_threads.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute::engine {
namespace {

// Per-token cross-entropy [N] of hidden [N, H] against labels [N], chunked over tokens so the
// [chunk, V] logits stay small.
torch::Tensor PerTokenCe(const torch::Tensor& hidden, const torch::Tensor& weight,
                         const torch::Tensor& labels) {
  constexpr int64_t kChunk = 256;
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < hidden.size(0); s += kChunk) {
    int64_t n = std::min(kChunk, hidden.size(0) - s);
    torch::Tensor logits = hidden.narrow(0, s, n).matmul(weight.t());
    torch::Tensor lp = torch::log_softmax(logits, -1);
    parts.push_back(-lp.gather(1, labels.narrow(0, s, n).unsqueeze(1)).squeeze(1));
  }
  return torch::cat(parts);
}

struct Accum {
  double base_sum = 0, abl_sum = 0, sel_inc = 0, other_inc = 0;
  int64_t n = 0, sel = 0;
};

}  // namespace

absl::StatusOr<std::vector<AblationResult>> RunPathwayAblations(
    const AblationOptions& options, const std::vector<std::pair<int, int>>& targets) {
  if (targets.empty()) return absl::InvalidArgumentError("ablation: no (layer, pathway) given");
  if (options.seq_len <= 0) return absl::InvalidArgumentError("seq_len: must be > 0");
  if (options.batch_size <= 0) return absl::InvalidArgumentError("batch_size: must be > 0");
  ASSIGN_OR_RETURN(model::ModelDirConfig mc, model::ReadModelConfig(options.model_dir));
  if (!mc.routing.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.model_dir, "/config.json: the model is not routed (no `routing` section)"));
  }
  std::vector<int64_t> routed = mc.routing->RoutedLayers(mc.config.num_layers);
  for (const auto& [layer, pathway] : targets) {
    if (std::find(routed.begin(), routed.end(), layer) == routed.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer: ", layer, " is not a routed layer of ", options.model_dir,
                       " (routed: ", absl::StrJoin(routed, ","), ")"));
    }
    if (pathway < 0 || pathway >= mc.routing->num_pathways) {
      return absl::InvalidArgumentError(
          absl::StrCat("pathway: ", pathway, " is outside [0, ", mc.routing->num_pathways, ")"));
    }
  }
  if (mc.routing->num_pathways - 1 < mc.routing->top_k) {
    return absl::InvalidArgumentError("ablation needs num_pathways > top_k");
  }
  if (options.seq_len > mc.config.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat("seq_len: ", options.seq_len,
                                                   " exceeds max_position_embeddings ",
                                                   mc.config.max_position_embeddings));
  }
  ASSIGN_OR_RETURN(torch::Device device, ParseDevice(options.device));
  model::ConfigureCpuThreads(options.threads);
  model::LoadOptions lo;
  lo.device = device;
  ASSIGN_OR_RETURN(model::GPTNeo m, model::LoadGPTNeo(options.model_dir, lo));

  ASSIGN_OR_RETURN(std::unique_ptr<EvalData> data,
                   EvalData::Load(EvalDataOptionsFrom(options, mc.config.vocab_size)));
  const std::vector<SequenceBatch>& batches = data->batches();

  std::vector<Accum> acc(targets.size());
  absl::Status st = TorchCall("ablation", [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    m->eval();
    model::ForwardOptions fo;
    fo.return_logits = false;
    for (const SequenceBatch& b : batches) {
      torch::Tensor t = torch::from_blob(const_cast<int32_t*>(b.tokens.data()),
                                         {b.batch, b.seq_len + 1}, torch::kInt32)
                            .to(torch::kInt64)
                            .to(device);
      torch::Tensor x = t.narrow(1, 0, b.seq_len).contiguous();
      torch::Tensor y = t.narrow(1, 1, b.seq_len).reshape({-1});
      model::ForwardOutput base = m->forward(x, fo);
      torch::Tensor h = base.final_norm.reshape({-1, base.final_norm.size(-1)});
      torch::Tensor ce0 = PerTokenCe(h, m->lm_head_weight(), y);
      for (size_t ti = 0; ti < targets.size(); ++ti) {
        auto [layer, pathway] = targets[ti];
        torch::Tensor sel;
        for (const model::RoutingInfo& r : base.routing) {
          if (r.layer == layer) sel = (r.topk_indices == pathway).any(1);
        }
        if (!sel.defined()) {
          return absl::InternalError(absl::StrCat("no routing info for layer ", layer));
        }
        torch::Tensor enabled = torch::ones({mc.routing->num_pathways}, torch::kBool);
        enabled[pathway] = false;
        RETURN_IF_ERROR(m->SetPathwayMask(layer, enabled.to(device)));
        model::ForwardOptions fa = fo;
        fa.return_routing = false;
        model::ForwardOutput abl = m->forward(x, fa);
        RETURN_IF_ERROR(m->SetPathwayMask(layer, torch::Tensor()));
        torch::Tensor h1 = abl.final_norm.reshape({-1, abl.final_norm.size(-1)});
        torch::Tensor ce1 = PerTokenCe(h1, m->lm_head_weight(), y);
        torch::Tensor inc = (ce1 - ce0).to(torch::kDouble).cpu();
        torch::Tensor selc = sel.cpu();
        Accum& a = acc[ti];
        a.base_sum += ce0.sum().item<double>();
        a.abl_sum += ce1.sum().item<double>();
        a.n += y.numel();
        int64_t ns = selc.sum().item<int64_t>();
        a.sel += ns;
        a.sel_inc += inc.masked_select(selc).sum().item<double>();
        a.other_inc += inc.masked_select(selc.logical_not()).sum().item<double>();
      }
    }
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(st);
  std::vector<AblationResult> out;
  for (size_t ti = 0; ti < targets.size(); ++ti) {
    const Accum& a = acc[ti];
    AblationResult r;
    r.layer = targets[ti].first;
    r.pathway = targets[ti].second;
    r.tokens = a.n;
    r.selected_tokens = a.sel;
    r.base_loss = a.base_sum / static_cast<double>(a.n);
    r.ablated_loss = a.abl_sum / static_cast<double>(a.n);
    r.selected_increase = a.sel > 0 ? a.sel_inc / static_cast<double>(a.sel)
                                    : std::numeric_limits<double>::quiet_NaN();
    int64_t others = a.n - a.sel;
    r.other_increase = others > 0 ? a.other_inc / static_cast<double>(others)
                                  : std::numeric_limits<double>::quiet_NaN();
    if (r.other_increase != 0 && std::isfinite(r.other_increase)) {
      r.ratio = r.selected_increase / r.other_increase;
    } else {
      r.ratio = a.sel > 0 && r.selected_increase > 0 ? std::numeric_limits<double>::infinity()
                                                     : std::numeric_limits<double>::quiet_NaN();
    }
    out.push_back(r);
  }
  return out;
}

absl::StatusOr<AblationResult> RunPathwayAblation(const AblationOptions& options) {
  ASSIGN_OR_RETURN(std::vector<AblationResult> r,
                   RunPathwayAblations(options, {{options.layer, options.pathway}}));
  return r.front();
}

std::string AblationResultToJson(const AblationResult& r) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  nlohmann::json j = {{"layer", r.layer},
                      {"pathway", r.pathway},
                      {"tokens", r.tokens},
                      {"selected_tokens", r.selected_tokens},
                      {"base_loss", num(r.base_loss)},
                      {"ablated_loss", num(r.ablated_loss)},
                      {"selected_increase", num(r.selected_increase)},
                      {"other_increase", num(r.other_increase)},
                      {"ratio", num(r.ratio)}};
  return j.dump();
}

}  // namespace monoroute::engine
