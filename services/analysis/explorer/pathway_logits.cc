// ComputePathwayLogits with the engine: LoadModel, one forward pass per context prefix (block
// outputs kept), the routed block's MLP input recomputed from its input (ln_1, attention, ln_2 as
// BlockImpl::forward), the pathway's slice of act(c_fc(.)) at the routed token, then
// W_U (ln_f.weight * W_down[:, slice] mean(gate * top_k * activation)).
#include "services/analysis/explorer/pathway_logits.h"

#include <torch/torch.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/model/checkpoint.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute::analysis::explorer {
namespace {

constexpr size_t kMaxContexts = 64;

absl::Status Validate(const PathwayLogitsOptions& o, const model::ModelDirConfig& mc) {
  if (!mc.routing.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint: ", o.checkpoint, "/config.json has no routing section (not a routed model)"));
  }
  if (o.pathway >= static_cast<uint32_t>(mc.routing->num_pathways)) {
    return absl::InvalidArgumentError(
        absl::StrCat("pathway: ", o.pathway, " >= num_pathways ", mc.routing->num_pathways));
  }
  if (o.top_n < 1 || o.top_n > 100) {
    return absl::InvalidArgumentError(absl::StrCat("top_n: ", o.top_n, " not in [1, 100]"));
  }
  if (o.contexts.empty() || o.contexts.size() > kMaxContexts) {
    return absl::InvalidArgumentError(
        absl::StrCat("contexts: ", o.contexts.size(), " given, must be 1 to ", kMaxContexts));
  }
  for (size_t c = 0; c < o.contexts.size(); ++c) {
    const std::vector<uint32_t>& ids = o.contexts[c].token_ids;
    if (ids.empty() || static_cast<int64_t>(ids.size()) > mc.config.max_position_embeddings) {
      return absl::InvalidArgumentError(absl::StrCat("contexts[", c, "].token_ids: ", ids.size(),
                                                     " tokens, must be 1 to ",
                                                     mc.config.max_position_embeddings));
    }
    for (uint32_t id : ids) {
      if (id >= static_cast<uint64_t>(mc.config.vocab_size)) {
        return absl::InvalidArgumentError(absl::StrCat("contexts[", c, "].token_ids: ", id,
                                                       " >= vocab_size ", mc.config.vocab_size));
      }
    }
  }
  return absl::OkStatus();
}

// The MLP input (ln_2's output) of block `layer` for the last token of `ids`, [H].
torch::Tensor MlpInputAtLast(model::CausalLMImpl& m, int64_t layer,
                             const std::vector<uint32_t>& ids) {
  torch::Tensor x = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64)
                        .reshape({1, static_cast<int64_t>(ids.size())});
  model::ForwardOptions fo;
  fo.return_logits = false;
  fo.return_block_outputs = true;
  fo.return_routing = false;
  model::ForwardOutput out = m.forward(x, fo);
  torch::Tensor in = layer == 0 ? out.embeddings : out.block_outputs[layer - 1];
  model::BlockImpl& b = *m.blocks[layer];
  const bool parallel =
      m.config().family == model::ModelFamily::kGPTNeoX && m.config().use_parallel_residual;
  torch::Tensor n2 =
      parallel ? b.ln_2(in) : b.ln_2(in + b.attention->forward(b.ln_1(in), torch::kFloat));
  return n2[0][static_cast<int64_t>(ids.size()) - 1];
}

std::vector<LogitEntry> TopEntries(const torch::Tensor& v, int n, bool largest) {
  const int64_t k = std::min<int64_t>(n, v.size(0));
  auto [vals, idx] = torch::topk(v, k, 0, largest, true);
  std::vector<LogitEntry> out;
  for (int64_t i = 0; i < k; ++i) {
    LogitEntry e;
    e.token_id = static_cast<uint32_t>(idx[i].item<int64_t>());
    e.value = vals[i].item<double>();
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

absl::StatusOr<PathwayLogits> ComputePathwayLogits(const PathwayLogitsOptions& o) {
  ASSIGN_OR_RETURN(model::ModelDirConfig mc, model::ReadModelConfig(o.checkpoint));
  RETURN_IF_ERROR(Validate(o, mc));
  ASSIGN_OR_RETURN(model::CausalLM m, model::LoadModel(o.checkpoint));
  const std::vector<int64_t> routed = m->routed_layers();
  const int64_t layer = static_cast<int64_t>(o.layer);
  if (std::find(routed.begin(), routed.end(), layer) == routed.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("layer: ", o.layer, " is not a routed layer of ", o.checkpoint));
  }
  PathwayLogits r;
  r.computed = true;
  r.checkpoint = o.checkpoint;
  r.contexts = static_cast<uint32_t>(o.contexts.size());
  RETURN_IF_ERROR(TorchCall("pathway logits", [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    m->eval();
    model::RoutedMLPImpl& mlp = *m->blocks[layer]->routed_mlp;
    const int64_t width = mlp.options().mlp.intermediate_size / mc.routing->num_pathways;
    const int64_t lo = static_cast<int64_t>(o.pathway) * width;
    torch::Tensor fc_w = mlp.c_fc->weight.slice(0, lo, lo + width);  // [w, H]
    torch::Tensor fc_b =
        mlp.c_fc->bias.defined() ? mlp.c_fc->bias.slice(0, lo, lo + width) : torch::zeros({width});
    torch::Tensor mean = torch::zeros({width});
    for (const LogitContext& c : o.contexts) {
      torch::Tensor n2 = MlpInputAtLast(*m, layer, c.token_ids);
      torch::Tensor act =
          model::Activate(torch::matmul(fc_w, n2) + fc_b, mlp.options().mlp.activation);
      mean += act * (static_cast<double>(c.gate) * static_cast<double>(mc.routing->top_k));
    }
    mean /= static_cast<double>(o.contexts.size());
    torch::Tensor dir = torch::matmul(mlp.c_proj->weight.slice(1, lo, lo + width), mean);  // [H]
    torch::Tensor scaled = m->ln_f->weight.defined() ? dir * m->ln_f->weight : dir;
    torch::Tensor logits = torch::matmul(m->lm_head_weight(), scaled);  // [V]
    r.raised = TopEntries(logits, o.top_n, true);
    r.lowered = TopEntries(logits, o.top_n, false);
    return absl::OkStatus();
  }));
  return r;
}

}  // namespace monoroute::analysis::explorer
