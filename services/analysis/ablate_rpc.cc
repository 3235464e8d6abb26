// RunAblate through the engine's RunPathwayAblation (linked only when monoroute_engine exists):
// AblateRequest -> AblationOptions, AblationResult -> AblateResponse.
#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/engine/ablation.h"
#include "services/analysis/analysis_service.h"

namespace monoroute::analysis {
namespace {

void SetDifference(const engine::BootstrapDifference& d, v1::AblateResponse::Difference* out) {
  out->set_estimate(d.estimate);
  out->set_low(d.low);
  out->set_high(d.high);
  out->set_se(d.se);
  out->set_replicates(static_cast<uint64_t>(d.replicates));
}

}  // namespace

absl::StatusOr<v1::AblateResponse> RunAblate(const v1::AblateRequest& req) {
  if (req.checkpoint().empty()) return absl::InvalidArgumentError("Ablate: checkpoint is empty");
  if (req.text_file().empty()) return absl::InvalidArgumentError("Ablate: text_file is empty");
  engine::AblationOptions o;
  o.model_dir = req.checkpoint();
  o.data_path = req.text_file();
  o.layer = static_cast<int>(req.layer());
  o.pathway = static_cast<int>(req.pathway());
  // Only as much of text_file is read as max_tokens needs (engine EvalData), never the whole file.
  o.max_tokens = req.max_tokens() ? req.max_tokens() : 16384;
  // uint32 fields are clamped so a huge value stays huge (and is rejected by the engine) as int.
  auto as_int = [](uint32_t v) { return static_cast<int>(std::min<uint32_t>(v, 1u << 30)); };
  o.seq_len = as_int(req.seq_len());  // 0: from the checkpoint
  if (req.num_controls()) o.num_controls = as_int(req.num_controls());
  if (req.bootstrap()) o.bootstrap = as_int(req.bootstrap());
  if (req.top_tokens()) o.top_tokens = as_int(req.top_tokens());
  o.seed = req.seed();
  absl::StatusOr<engine::AblationResult> r = engine::RunPathwayAblation(o);
  if (!r.ok()) return r.status();
  v1::AblateResponse resp;
  resp.set_tokens_in_topk(static_cast<uint64_t>(r->selected_tokens));
  resp.set_tokens_other(static_cast<uint64_t>(r->tokens - r->selected_tokens));
  resp.set_loss_increase_in_topk(r->selected_increase);
  resp.set_loss_increase_other(r->other_increase);
  resp.set_base_loss(r->base_loss);
  resp.set_ablated_loss(r->ablated_loss);
  resp.set_target_effect(r->target_effect);
  for (const engine::AblationControl& c : r->controls) {
    v1::AblateResponse::Control* pc = resp.add_controls();
    pc->set_pathway(static_cast<uint32_t>(c.pathway));
    pc->set_load(static_cast<uint64_t>(c.load));
    pc->set_effect(c.effect);
  }
  resp.set_control_effect(r->control_effect);
  SetDifference(r->effect_difference, resp.mutable_effect_difference());
  for (int32_t id : r->top_token_ids) resp.add_top_token_ids(static_cast<uint32_t>(id));
  resp.set_tokens_top(static_cast<uint64_t>(r->top_token_count));
  resp.set_tokens_rest(static_cast<uint64_t>(r->rest_token_count));
  resp.set_increase_top(r->top_increase);
  resp.set_increase_rest(r->rest_increase);
  SetDifference(r->top_vs_rest, resp.mutable_top_vs_rest());
  resp.set_sequences(static_cast<uint64_t>(r->sequences));
  resp.set_bootstrap(static_cast<uint32_t>(r->bootstrap));
  resp.set_interval("percentile");
  return resp;
}

}  // namespace monoroute::analysis
