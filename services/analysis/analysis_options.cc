// ValidateAnalysisOptions: INVALID_ARGUMENT naming the first knob out of range.
#include "services/analysis/analysis_options.h"

#include <cmath>
#include <string>

namespace monoroute::analysis {
namespace {

bool FiniteAtLeast(double v, double lo) { return std::isfinite(v) && v >= lo; }

}  // namespace

absl::Status ValidateAnalysisOptions(const AnalysisOptions& o) {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError("options." + what); };
  if (o.top_tokens < 0 || o.top_tokens > 1000) return bad("top_tokens: must be in [0, 1000]");
  if (!(o.utilisation_threshold >= 0.0 && o.utilisation_threshold <= 16.0)) {
    return bad("utilisation_threshold: must be in [0, 16]");
  }
  if (o.null_replicates < 2 || o.null_replicates > 1000) {
    return bad("null_replicates: must be in [2, 1000]");
  }
  if (o.bootstrap < 0 || o.bootstrap > 10000) return bad("bootstrap: must be in [0, 10000]");
  if (o.min_blocks < 2) return bad("min_blocks: must be >= 2");
  if (o.category_permutations < 0 || o.category_permutations > 100000) {
    return bad("category_permutations: must be in [0, 100000]");
  }
  if (o.category_stratum_types < 2 || o.category_stratum_types > 100000) {
    return bad("category_stratum_types: must be in [2, 100000]");
  }
  if (!FiniteAtLeast(o.min_effect_nats, 0.0)) {
    return bad("min_effect_nats: must be a finite number >= 0");
  }
  if (!FiniteAtLeast(o.min_effect_share, 0.0) || o.min_effect_share > 1.0) {
    return bad("min_effect_share: must be in [0, 1]");
  }
  if (!FiniteAtLeast(o.min_source_nats, 0.0)) {
    return bad("min_source_nats: must be a finite number >= 0");
  }
  if (!FiniteAtLeast(o.min_category_enrichment, 1.0)) {
    return bad("min_category_enrichment: must be a finite number >= 1");
  }
  if (!(o.fdr > 0.0 && o.fdr < 1.0)) return bad("fdr: must be in (0, 1)");
  if (!(o.confidence > 0.0 && o.confidence < 1.0)) return bad("confidence: must be in (0, 1)");
  if (o.training_ranges < 0 || o.training_ranges > 64) {
    return bad("training_ranges: must be in [0, 64]");
  }
  if (o.threads < 0 || o.threads > 256) return bad("threads: must be in [0, 256]");
  if (o.max_events_per_layer == 0) return bad("max_events_per_layer: must be > 0");
  if (o.estimand_events != 0 && o.estimand_events < 1000) {
    return bad("estimand_events: must be 0 (no cap) or >= 1000");
  }
  if (o.max_report_events == 0) return bad("max_report_events: must be > 0");
  if (!(o.max_report_work > 0.0)) return bad("max_report_work: must be > 0");
  return absl::OkStatus();
}

}  // namespace monoroute::analysis
