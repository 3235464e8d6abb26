// RunAblate through the engine's RunPathwayAblation (linked only when monoroute_engine exists).
#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/engine/ablation.h"
#include "services/analysis/analysis_service.h"

namespace monoroute::analysis {

absl::StatusOr<v1::AblateResponse> RunAblate(const v1::AblateRequest& req) {
  if (req.checkpoint().empty()) return absl::InvalidArgumentError("Ablate: checkpoint is empty");
  if (req.text_file().empty()) return absl::InvalidArgumentError("Ablate: text_file is empty");
  engine::AblationOptions o;
  o.model_dir = req.checkpoint();
  o.data_path = req.text_file();
  o.layer = static_cast<int>(req.layer());
  o.pathway = static_cast<int>(req.pathway());
  const int64_t max_tokens = req.max_tokens() ? req.max_tokens() : 16384;
  const int64_t per_batch = static_cast<int64_t>(o.seq_len) * o.batch_size;
  o.max_batches = std::max<int64_t>(1, (max_tokens + per_batch - 1) / per_batch);
  auto r = engine::RunPathwayAblation(o);
  if (!r.ok()) return r.status();
  v1::AblateResponse resp;
  resp.set_tokens_in_topk(static_cast<uint64_t>(r->selected_tokens));
  resp.set_tokens_other(static_cast<uint64_t>(r->tokens - r->selected_tokens));
  resp.set_loss_increase_in_topk(r->selected_increase);
  resp.set_loss_increase_other(r->other_increase);
  resp.set_ratio(r->ratio);
  resp.set_base_loss(r->base_loss);
  return resp;
}

}  // namespace monoroute::analysis
