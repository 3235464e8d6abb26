// The one list of the report's fields: VisitFields() walks every field of a result struct with
// its report name, so the JSON writer (report_json.cc) and the gRPC conversion (proto_convert.cc,
// by protobuf reflection on the same names) never list fields themselves. Adding a field to a
// result means adding one line here (and to analysis.proto and docs/analysis.md; a test checks
// the proto has every name).
//
// A visitor V provides `v(name, value)` for uint32_t, uint64_t, int, double, bool, std::string,
// Interval and std::vector<uint64_t>, and `v.List(name, std::vector<S>)` for nested results.
#ifndef MONOROUTE_SERVICES_ANALYSIS_REPORT_FIELDS_H_
#define MONOROUTE_SERVICES_ANALYSIS_REPORT_FIELDS_H_

#include "services/analysis/layer_analysis.h"

namespace monoroute::analysis {

template <typename V>
void VisitFields(const TokenCountResult& t, V& v) {
  v("token_id", t.token_id);
  v("token", t.token);
  v("count", t.count);
  v("share", t.share);
}

template <typename V>
void VisitFields(const CategoryCountResult& c, V& v) {
  v("category", c.category);
  v("count", c.count);
  v("share", c.share);
}

template <typename V>
void VisitFields(const PathwayResult& r, V& v) {
  v("layer", r.layer);
  v("pathway", r.pathway);
  v("load", r.load);
  v("load_share", r.load_share);
  v("utilised", r.utilised);
  v("distinct_tokens", r.distinct_tokens);
  v("entropy_nats", r.entropy_nats);
  v("purity", r.purity);
  v("purity_null_mean", r.purity_null_mean);
  v("purity_excess", r.purity_excess);
  v("purity_excess_ci", r.purity_excess_ci);
  v("kl_nats", r.kl_nats);
  v("kl_null_mean", r.kl_null_mean);
  v("kl_null_sd", r.kl_null_sd);
  v("kl_z", r.kl_z);
  v("kl_excess_nats", r.kl_excess_nats);
  v("kl_excess_ci", r.kl_excess_ci);
  v("p_value", r.p_value);
  v("q_value", r.q_value);
  v("specialised_vs_null", r.specialised_vs_null);
  v("kl_excess_vs_control_nats", r.kl_excess_vs_control_nats);
  v("kl_excess_vs_control_ci", r.kl_excess_vs_control_ci);
  v("control_q_value", r.control_q_value);
  v("specialised_vs_control", r.specialised_vs_control);
  v("specialised", r.specialised);
  v("owned_tokens", r.owned_tokens);
  v("mean_token_specialisation", r.mean_token_specialisation);
  v("category_routings", r.category_routings);
  v("top_category", r.top_category);
  v("category_purity", r.category_purity);
  v("enriched_category", r.enriched_category);
  v("enrichment", r.enrichment);
  v("category_kl_nats", r.category_kl_nats);
  v("category_kl_null_mean", r.category_kl_null_mean);
  v("category_kl_excess", r.category_kl_excess);
  v("category_kl_excess_ci", r.category_kl_excess_ci);
  v("category_p_value", r.category_p_value);
  v("category_q_value", r.category_q_value);
  v("category_specialised", r.category_specialised);
  v.List("categories", r.categories);
  v.List("top_tokens", r.top_tokens);
}

template <typename V>
void VisitFields(const ControlComparison& c, V& v) {
  v("control", c.control);
  v("split", c.split);
  v("events", c.events);
  v("mi_excess_nats", c.mi_excess_nats);
  v("mi_excess_ci", c.mi_excess_ci);
  v("mean_kl_excess_nats", c.mean_kl_excess_nats);
  v("mean_kl_excess_ci", c.mean_kl_excess_ci);
  v("mean_purity_excess", c.mean_purity_excess);
  v("token_specialisation", c.token_specialisation);
  v("token_specialisation_excess", c.token_specialisation_excess);
  v("token_specialisation_excess_ci", c.token_specialisation_excess_ci);
  v("category_ami", c.category_ami);
  v("category_ami_ci", c.category_ami_ci);
  v("max_violation", c.max_violation);
  v("specialised_vs_null_pathways", c.specialised_vs_null_pathways);
  v("category_specialised_pathways", c.category_specialised_pathways);
  v("mi_excess_delta", c.mi_excess_delta);
  v("mi_excess_delta_ci", c.mi_excess_delta_ci);
  v("mean_kl_excess_delta", c.mean_kl_excess_delta);
  v("mean_kl_excess_delta_ci", c.mean_kl_excess_delta_ci);
  v("mean_purity_excess_delta", c.mean_purity_excess_delta);
  v("mean_purity_excess_delta_ci", c.mean_purity_excess_delta_ci);
  v("token_specialisation_excess_delta", c.token_specialisation_excess_delta);
  v("token_specialisation_excess_delta_ci", c.token_specialisation_excess_delta_ci);
  v("category_ami_delta", c.category_ami_delta);
  v("category_ami_delta_ci", c.category_ami_delta_ci);
}

// A layer without its pathways (summaries, over-training ranges, baselines).
template <typename V>
void VisitSummaryFields(const LayerResult& L, V& v) {
  v("layer", L.layer);
  v("num_pathways", L.num_pathways);
  v("top_k", L.top_k);
  v("events", L.events);
  v("routings", L.routings);
  v("blocks", L.blocks);
  v("distinct_tokens", L.distinct_tokens);
  v("purity_normaliser_nats", L.purity_normaliser_nats);
  v("mi_nats", L.mi_nats);
  v("mi_null_mean", L.mi_null_mean);
  v("mi_excess_nats", L.mi_excess_nats);
  v("mi_excess_ci", L.mi_excess_ci);
  v("mi_ceiling_nats", L.mi_ceiling_nats);
  v("mi_excess_normalised", L.mi_excess_normalised);
  v("mean_purity", L.mean_purity);
  v("mean_purity_null", L.mean_purity_null);
  v("mean_purity_excess", L.mean_purity_excess);
  v("mean_purity_excess_ci", L.mean_purity_excess_ci);
  v("mean_kl_nats", L.mean_kl_nats);
  v("mean_kl_null", L.mean_kl_null);
  v("mean_kl_excess_nats", L.mean_kl_excess_nats);
  v("mean_kl_excess_ci", L.mean_kl_excess_ci);
  v("eligible_tokens", L.eligible_tokens);
  v("token_specialisation", L.token_specialisation);
  v("token_specialisation_chance", L.token_specialisation_chance);
  v("token_specialisation_excess", L.token_specialisation_excess);
  v("token_specialisation_excess_ci", L.token_specialisation_excess_ci);
  v("token_specialisation_weighted", L.token_specialisation_weighted);
  v("utilisation", L.utilisation);
  v("load", L.load);
  v("max_violation", L.max_violation);
  v("load_entropy_normalised", L.load_entropy_normalised);
  v("category_tokens", L.category_tokens);
  v("category_routings", L.category_routings);
  v("category_mi_nats", L.category_mi_nats);
  v("category_mi_null_mean", L.category_mi_null_mean);
  v("category_mi_ceiling_nats", L.category_mi_ceiling_nats);
  v("category_ami", L.category_ami);
  v("category_ami_ci", L.category_ami_ci);
  v("category_nmi", L.category_nmi);
  v("category_nmi_ceiling", L.category_nmi_ceiling);
  v("specialised_pathways", L.specialised_pathways);
  v("category_specialised_pathways", L.category_specialised_pathways);
  v("specialised_reference", L.specialised_reference);
  v("null_method", L.null_method);
  v("null_replicates", L.null_replicates);
  v("bootstrap_method", L.bootstrap_method);
  v("bootstrap_replicates", L.bootstrap_replicates);
  v("category_permutations", L.category_permutations);
  v.List("controls", L.controls);
}

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_REPORT_FIELDS_H_
