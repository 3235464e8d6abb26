// Steered forward of Generate: masks through SetPathwayMask, scales through the routed MLP's
// ApplyRouting on rescaled weights (see generate_forward.h).
#include "common/engine/generate_forward.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace monoroute::engine {
namespace {

// INVALID_ARGUMENT unless `layer` is routed in `model` and `pathway` in range.
absl::Status CheckRef(const model::GPTNeoImpl& model, int layer, int pathway,
                      absl::string_view field) {
  const std::vector<int64_t> routed = model.routed_layers();
  if (std::find(routed.begin(), routed.end(), layer) == routed.end()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": layer ", layer, " is not routed"));
  }
  const int64_t p = model.routing()->num_pathways;
  if (pathway < 0 || pathway >= p) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": pathway ", pathway, " of layer ",
                                                   layer, " is outside [0, ", p, ")"));
  }
  return absl::OkStatus();
}

// The routing of each row of one routed layer's top-k ([R, k] indices and weights).
std::vector<TokenRouting> RowRouting(int64_t layer, const torch::Tensor& indices,
                                     const torch::Tensor& weights) {
  torch::Tensor idx = indices.to(torch::kCPU, torch::kLong).contiguous();
  torch::Tensor w = weights.to(torch::kCPU, torch::kDouble).contiguous();
  const int64_t rows = idx.size(0), k = idx.size(1);
  std::vector<TokenRouting> out(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    TokenRouting& tr = out[static_cast<size_t>(r)];
    tr.layer = static_cast<int>(layer);
    const int64_t* ip = idx.data_ptr<int64_t>() + r * k;
    const double* wp = w.data_ptr<double>() + r * k;
    for (int64_t j = 0; j < k; ++j) tr.pathways.push_back(static_cast<int>(ip[j]));
    tr.weights.assign(wp, wp + k);
  }
  return out;
}

}  // namespace

absl::StatusOr<Steering> MakeSteering(const model::GPTNeoImpl& model,
                                      const std::vector<std::pair<int, int>>& ablate,
                                      const std::vector<PathwayScale>& scale) {
  Steering s;
  const int64_t p = model.routing().has_value() ? model.routing()->num_pathways : 0;
  for (const auto& [layer, pathway] : ablate) {
    RETURN_IF_ERROR(CheckRef(model, layer, pathway, "ablate"));
    auto it = s.enabled.try_emplace(layer, torch::ones({p}, torch::kBool)).first;
    it->second[pathway] = false;
  }
  for (const auto& [layer, enabled] : s.enabled) {
    const int64_t on = enabled.sum().item<int64_t>();
    if (on < model.routing()->top_k) {
      return absl::InvalidArgumentError(
          absl::StrCat("ablate: layer ", layer, " would keep ", on,
                       " pathways enabled, fewer than top_k=", model.routing()->top_k));
    }
  }
  for (const PathwayScale& sc : scale) {
    RETURN_IF_ERROR(CheckRef(model, sc.layer, sc.pathway, "scale"));
    if (!std::isfinite(sc.factor)) {
      return absl::InvalidArgumentError(
          absl::StrCat("scale: factor of ", sc.layer, ":", sc.pathway, " is not finite"));
    }
    auto it = s.scale.try_emplace(sc.layer, torch::ones({p}, torch::kFloat)).first;
    it->second[sc.pathway] = sc.factor;
  }
  return s;
}

absl::Status ApplyPathwayMasks(model::GPTNeoImpl& model, const Steering& steering) {
  for (int64_t layer : model.routed_layers()) {
    auto it = steering.enabled.find(layer);
    torch::Tensor enabled =
        it == steering.enabled.end() ? torch::Tensor() : it->second.to(model.wte->weight.device());
    RETURN_IF_ERROR(model.SetPathwayMask(layer, enabled));
  }
  return absl::OkStatus();
}

model::ForwardOutput SteeredForward(model::GPTNeoImpl& model, const torch::Tensor& input_ids,
                                    const Steering& steering) {
  if (steering.scale.empty()) return model.forward(input_ids);
  const int64_t t = input_ids.size(1);
  TORCH_CHECK(t <= model.config().max_position_embeddings, "sequence length ", t,
              " exceeds max_position_embeddings");
  model::ForwardOutput out;
  torch::Tensor ids = input_ids.to(model.wte->weight.device(), torch::kLong);
  torch::Tensor x = model.wte(ids);
  if (!model.wpe.is_empty()) x = x + model.wpe->weight.narrow(0, 0, t).unsqueeze(0);
  const bool parallel = model.config().family == model::ModelFamily::kGPTNeoX &&
                        model.config().use_parallel_residual;
  for (int64_t l = 0; l < static_cast<int64_t>(model.blocks.size()); ++l) {
    model::BlockImpl& block = *model.blocks[l];
    auto it = steering.scale.find(l);
    if (it == steering.scale.end()) {
      model::RoutingInfo info;
      x = block.forward(x, &info);
      if (block.routed()) out.routing.push_back(std::move(info));
      continue;
    }
    torch::Tensor a = block.attention->forward(block.ln_1(x), torch::kFloat);
    torch::Tensor hs = x + a;
    torch::Tensor n2 = block.ln_2(parallel ? x : hs);  // NeoX's parallel residual reads x
    model::RoutingInfo info = block.routed_mlp->router(n2);
    info.layer = l;
    torch::Tensor factor = it->second.to(info.topk_weights.device());
    torch::Tensor w = info.topk_weights * factor.index({info.topk_indices});
    x = hs + block.routed_mlp->ApplyRouting(n2, info.topk_indices, w);
    out.routing.push_back(std::move(info));
  }
  out.final_norm = model.ln_f(x);
  out.logits = torch::matmul(out.final_norm, model.lm_head_weight().t());
  return out;
}

std::vector<std::vector<TokenRouting>> PositionRouting(const model::ForwardOutput& out) {
  std::vector<std::vector<TokenRouting>> positions;
  for (const model::RoutingInfo& info : out.routing) {
    std::vector<TokenRouting> rows = RowRouting(info.layer, info.topk_indices, info.topk_weights);
    positions.resize(std::max(positions.size(), rows.size()));
    for (size_t t = 0; t < rows.size(); ++t) positions[t].push_back(std::move(rows[t]));
  }
  return positions;
}

}  // namespace monoroute::engine
