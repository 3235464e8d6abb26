// The one list of the report's fields: VisitFields() walks every field of a result struct with
// its report name, so the JSON writer (report_json.cc) and the gRPC conversion (proto_convert.cc,
// by protobuf reflection on the same names) never list fields themselves. Adding a field to a
// result means adding one line here (and to analysis.proto and docs/analysis.md; a test checks
// the proto has every name).
//
// A visitor V provides `v(name, value)` for uint32_t, uint64_t, int, double, bool, std::string,
// Interval, Effect and std::vector<uint64_t>, and `v.List(name, std::vector<S>)` for nested
// results. An Effect is one JSON object {"observed", "null_mean", "excess", "ci": [lo, hi]} and
// one `Effect` proto message, both written from its VisitFields below.
#ifndef MONOROUTE_SERVICES_ANALYSIS_REPORT_FIELDS_H_
#define MONOROUTE_SERVICES_ANALYSIS_REPORT_FIELDS_H_

#include "services/analysis/layer_analysis.h"
#include "services/analysis/router_saturation.h"

namespace monoroute::analysis {

// An interval: a JSON array [low, high] (report_json.cc), an `Interval` proto message {low, high}.
template <typename V>
void VisitFields(const Interval& i, V& v) {
  v("low", i.low);
  v("high", i.high);
}

// An effect with its null and interval (effect.h): one JSON object, one `Effect` proto message.
template <typename V>
void VisitFields(const Effect& e, V& v) {
  v("observed", e.observed);
  v("null_mean", e.null_mean);
  v("excess", e.excess);
  v("ci", e.ci);
}

template <typename V>
void VisitFields(const TokenCountResult& t, V& v) {
  v("token_id", t.token_id);
  v("token", t.token);
  v("count", t.count);
  v("share", t.share);
  v("layer_count", t.layer_count);
  v("lift", t.lift);
}

template <typename V>
void VisitFields(const CategoryCountResult& c, V& v) {
  v("category", c.category);
  v("count", c.count);
  v("share", c.share);
}

template <typename V>
void VisitFields(const SourceMi& s, V& v) {
  v("source", s.source);
  v("mi", s.mi);
}

template <typename V>
void VisitFields(const SourceKl& s, V& v) {
  v("source", s.source);
  v("kl", s.kl);
}

template <typename V>
void VisitFields(const CoactivationPair& c, V& v) {
  v("pathway_a", c.pathway_a);
  v("pathway_b", c.pathway_b);
  v("together", c.together);
  v("expected", c.expected);
  v("lift", c.lift);
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
  v("kl", r.kl);
  v("kl_ceiling_nats", r.kl_ceiling_nats);
  v("kl_excess_share", r.kl_excess_share);
  v("p_value", r.p_value);
  v("q_value", r.q_value);
  v("specialised_vs_null", r.specialised_vs_null);
  v("kl_vs_control", r.kl_vs_control);
  v("control_q_value", r.control_q_value);
  v("specialised_vs_control", r.specialised_vs_control);
  v("specialised", r.specialised);
  v.List("sources", r.sources);
  v("current_given_previous", r.current_given_previous);
  v("previous_given_current", r.previous_given_current);
  v("routing_source", r.routing_source);
  v("owned_tokens", r.owned_tokens);
  v("mean_token_specialisation", r.mean_token_specialisation);
  v("category_routings", r.category_routings);
  v("category", r.category);
  v("enrichment", r.enrichment);
  v("category_kl", r.category_kl);
  v("category_p_value", r.category_p_value);
  v("category_q_value", r.category_q_value);
  v("category_specialised", r.category_specialised);
  v.List("categories", r.categories);
  v.List("top_tokens", r.top_tokens);
}

// The layer-level effects a layer and each of its controls report (layer_analysis.h).
template <typename V>
void VisitFields(const LayerEffects& e, V& v) {
  v("events", e.events);
  v("events_used", e.events_used);
  v("mi", e.mi);
  v("mean_kl", e.mean_kl);
  v("token_specialisation", e.token_specialisation);
  v("category_ami", e.category_ami);
  v("max_violation", e.max_violation);
  v("routing_source", e.routing_source);
  v("specialised_vs_null_pathways", e.specialised_vs_null_pathways);
  v("category_specialised_pathways", e.category_specialised_pathways);
}

template <typename V>
void VisitFields(const ControlComparison& c, V& v) {
  VisitFields(static_cast<const LayerEffects&>(c), v);
  v("control", c.control);
  v("split", c.split);
  v("mi_delta", c.mi_delta);
  v("mean_kl_delta", c.mean_kl_delta);
  v("mean_purity_delta", c.mean_purity_delta);
  v("token_specialisation_delta", c.token_specialisation_delta);
  v("category_ami_delta", c.category_ami_delta);
}

// A layer without its pathways (summaries, over-training ranges, baselines).
template <typename V>
void VisitSummaryFields(const LayerResult& L, V& v) {
  VisitFields(static_cast<const LayerEffects&>(L), v);
  v("layer", L.layer);
  v("num_pathways", L.num_pathways);
  v("top_k", L.top_k);
  v("routings", L.routings);
  v("blocks", L.blocks);
  v("distinct_tokens", L.distinct_tokens);
  v("purity_normaliser_nats", L.purity_normaliser_nats);
  v("mi_ceiling_nats", L.mi_ceiling_nats);
  v("mi_excess_normalised", L.mi_excess_normalised);
  v("mean_purity", L.mean_purity);
  v("eligible_tokens", L.eligible_tokens);
  v("token_specialisation_weighted", L.token_specialisation_weighted);
  v.List("sources", L.sources);
  v("current_given_previous", L.current_given_previous);
  v("previous_given_current", L.previous_given_current);
  v("utilisation", L.utilisation);
  v("load", L.load);
  v("load_entropy_normalised", L.load_entropy_normalised);
  v("category_tokens", L.category_tokens);
  v("category_routings", L.category_routings);
  v("category_mi", L.category_mi);
  v("category_mi_ceiling_nats", L.category_mi_ceiling_nats);
  v("category_nmi", L.category_nmi);
  v("category_nmi_ceiling", L.category_nmi_ceiling);
  v("specialised_pathways", L.specialised_pathways);
  v("specialised_reference", L.specialised_reference);
  v("null_method", L.null_method);
  v("null_replicates", L.null_replicates);
  v("bootstrap_method", L.bootstrap_method);
  v("bootstrap_replicates", L.bootstrap_replicates);
  v("category_permutations", L.category_permutations);
  v.List("controls", L.controls);
  v("coactivation", L.coactivation.distance);
  v.List("coactivation_pairs", L.coactivation.pairs);
  v("locality", L.locality);
  v("next_routed_layer", L.cross_layer.next_layer);
  v("cross_layer_tokens", L.cross_layer.tokens);
  v("cross_layer_mi", L.cross_layer.mi);
}

// Router saturation (the report's top-level `router_saturation` list; router_saturation.h).
template <typename V>
void VisitFields(const LayerSaturation& s, V& v) {
  v("layer", s.layer);
  v("saturation", s.saturation);
  v("ci", s.ci);
  v("chance", s.chance);
  v("events", s.events);
}

template <typename V>
void VisitFields(const SaturationPoint& p, V& v) {
  v("step", p.step);
  v.List("layers", p.layers);
}

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_REPORT_FIELDS_H_
