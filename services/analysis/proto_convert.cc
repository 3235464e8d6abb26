// analysis.v1 messages from the report's field list (report_fields.h) by protobuf reflection
// (common/service/proto_fields.h's ProtoFieldWriter), and request options to core options.
#include "services/analysis/proto_convert.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/service/proto_fields.h"
#include "services/analysis/report_fields.h"

namespace monoroute::analysis {

void ToProto(const PathwayResult& in, v1::PathwaySummary* out, std::vector<std::string>* missing) {
  ProtoFieldWriter v(out, missing);
  VisitFields(in, v);
}

void ToProto(const LayerResult& in, v1::LayerSummary* out, std::vector<std::string>* missing) {
  ProtoFieldWriter v(out, missing);
  VisitSummaryFields(in, v);
}

void ToProto(const ControlComparison& in, v1::ControlComparison* out,
             std::vector<std::string>* missing) {
  ProtoFieldWriter v(out, missing);
  VisitFields(in, v);
}

void ToProto(const std::vector<SaturationPoint>& in, v1::ReportResponse* out,
             std::vector<std::string>* missing) {
  ProtoFieldWriter v(out, missing);
  v.List("router_saturation", in);
}

absl::StatusOr<AnalysisOptions> OptionsFromProto(const v1::AnalysisOptions& p, int threads) {
  AnalysisOptions o;
  if (p.top_tokens() > 0) o.top_tokens = static_cast<int>(std::min<uint32_t>(p.top_tokens(), 1001));
  if (p.utilisation_threshold() != 0) o.utilisation_threshold = p.utilisation_threshold();
  if (p.min_token_count() > 0) o.min_token_count = p.min_token_count();
  if (p.seed() != 0) o.seed = p.seed();
  if (p.training_ranges() > 0) {
    o.training_ranges = static_cast<int>(std::min<uint32_t>(p.training_ranges(), 65));
  }
  if (p.null_replicates() > 0) {
    o.null_replicates = static_cast<int>(std::min<uint32_t>(p.null_replicates(), 1001));
  }
  if (p.has_bootstrap()) o.bootstrap = static_cast<int>(std::min<uint32_t>(p.bootstrap(), 10001));
  if (p.has_category_permutations()) {
    o.category_permutations =
        static_cast<int>(std::min<uint32_t>(p.category_permutations(), 100001));
  }
  if (p.category_stratum_types() > 0) {
    o.category_stratum_types =
        static_cast<int>(std::min<uint32_t>(p.category_stratum_types(), 100001));
  }
  if (p.has_min_effect_share()) o.min_effect_share = p.min_effect_share();
  if (p.has_min_source_nats()) o.min_source_nats = p.min_source_nats();
  if (p.min_lift_count() > 0) o.min_lift_count = p.min_lift_count();
  if (p.has_estimand_events()) o.estimand_events = p.estimand_events();
  if (p.has_sources()) o.sources = p.sources();
  if (p.has_synthetic_controls()) o.synthetic_controls = p.synthetic_controls();
  if (p.max_report_events() > 0) o.max_report_events = p.max_report_events();
  if (p.has_min_effect_nats()) o.min_effect_nats = p.min_effect_nats();
  if (p.min_category_enrichment() != 0) o.min_category_enrichment = p.min_category_enrichment();
  if (p.fdr() != 0) o.fdr = p.fdr();
  if (p.confidence() != 0) o.confidence = p.confidence();
  o.threads = threads;
  RETURN_IF_ERROR(ValidateAnalysisOptions(o));
  return o;
}

}  // namespace monoroute::analysis
