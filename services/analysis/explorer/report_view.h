// The one adapter from the analysis report document (llm_routing_results.json, as ReportToJson
// writes it) to what the explorer's pages show. Only this file knows the report's key names, and
// every key is optional: schema 2 (effects as flat *_excess / *_ci fields, summary.headline) and
// schema 3 (every effect an object {"observed", "null_mean", "excess", "ci": [lo, hi]}, an
// answer sentence per layer) both give a view; a missing number is NaN. No gRPC.
#ifndef MONOROUTE_SERVICES_ANALYSIS_EXPLORER_REPORT_VIEW_H_
#define MONOROUTE_SERVICES_ANALYSIS_EXPLORER_REPORT_VIEW_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/effect.h"

namespace monoroute::analysis::explorer {

// One measured effect, the report's own type (effect.h: observed value, its null or control level,
// the excess and its interval), with the measure it is and what it is measured against.
struct EffectView : Effect {
  // Measure name as the report spells it (e.g. "mi_nats", "token_specialisation").
  std::string measure;
  // What the excess is measured against: "null", "fresh_routers", "dense_slices", ...
  std::string against = "null";
};

// One pathway's row in the overview grid.
struct PathwaySummaryView {
  uint32_t pathway = 0;
  double load_share = 0.0;
  // Token specialisation: KL excess over the null and its interval.
  double kl_excess = 0.0;
  Interval kl_ci;
  bool specialised = false;
  bool category_specialised = false;
  // What it responds to (schema 3 answer, else the enriched category, else "").
  std::string responds_to;
  // Top tokens as the report lists them (by lift in schema 3, by count in schema 2).
  std::vector<std::string> top_tokens;
};

// Two pathways of a layer co-selected by tokens (report `coactivation_pairs`).
struct PairView {
  uint32_t pathway_a = 0;
  uint32_t pathway_b = 0;
  uint64_t together = 0;
  double expected = 0.0;
  // together / expected (1 = as the loads predict) and the interval of its excess over the null.
  double lift = 0.0;
  Interval excess_ci;
};

// One routed layer.
struct LayerView {
  uint32_t layer = 0;
  uint64_t events = 0;
  // The report's answer sentence for the layer (schema 3), else one composed from the effects.
  std::string answer;
  std::vector<EffectView> effects;
  double max_violation = 0.0;
  // Where the routing came from (schema 3 routing_source; "" when absent).
  std::string routing_source;
  std::vector<PathwaySummaryView> pathways;
  // Routing structure (docs/analysis.md): the effects "coactivation", "locality" and
  // "cross_layer_mi" (not repeated in `effects`; empty in older reports), the next routed layer
  // the last is measured against (has_next_layer: it was) and the most co-activated pairs (lift's
  // interval above the null, by lift, at most kTopPairs).
  static constexpr size_t kTopPairs = 5;
  std::vector<EffectView> structure;
  bool has_next_layer = false;
  uint32_t next_routed_layer = 0;
  std::vector<PairView> top_pairs;
};

// The report as the explorer reads it. A value type.
struct ReportView {
  int schema_version = 0;
  std::string run_id;
  std::map<std::string, std::string> labels;
  uint32_t num_pathways = 0;
  uint32_t top_k = 0;
  bool finished = false;
  bool still_writing = false;
  uint64_t events = 0;
  // One line: the report's headline answer (composed when absent).
  std::string headline;
  std::vector<LayerView> layers;

  // The layer's view, or nullptr.
  const LayerView* Layer(uint32_t layer) const;
};

// Parses the report document. INVALID_ARGUMENT when it is not a JSON object; every missing key is
// tolerated.
absl::StatusOr<ReportView> ParseReportView(const std::string& report_json);

}  // namespace monoroute::analysis::explorer

#endif  // MONOROUTE_SERVICES_ANALYSIS_EXPLORER_REPORT_VIEW_H_
