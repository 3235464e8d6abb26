// JSON documents of the explorer (see explorer_json.h). Undefined numbers are JSON null.
#include "services/analysis/explorer/explorer_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace monoroute::analysis::explorer {
namespace {

using nlohmann::json;

json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// A JSON array with one element `row(x)` per x in `rows`.
template <typename T, typename F>
json ArrayOf(const std::vector<T>& rows, F row) {
  json out = json::array();
  for (const T& x : rows) out.push_back(row(x));
  return out;
}

// Projections of a row onto one column of parallel arrays.
const std::string& TextOf(const ContextToken& t) { return t.text; }
double GateOf(const ContextToken& t) { return t.gate; }

json ContextJson(const Context& c) {
  return {{"sequence_id", c.sequence_id},
          {"position", c.position},
          {"gate", c.gate},
          {"rank", c.rank},
          {"co_selected", c.co_selected},
          {"next_token_id", c.next_token_id},
          {"next_token", c.next_text},
          {"tokens", ArrayOf(c.tokens, TextOf)},
          {"token_ids", ArrayOf(c.tokens, [](const ContextToken& t) { return t.token_id; })},
          {"token_gates", ArrayOf(c.tokens, GateOf)},
          {"routed_index", c.routed_index}};
}

json LiftsJson(const std::vector<TokenLift>& rows) {
  return ArrayOf(rows, [](const TokenLift& t) -> json {
    return {{"token_id", t.token_id},
            {"token", t.text},
            {"count_in_pathway", t.count_in_pathway},
            {"count_in_layer", t.count_in_layer},
            {"share_in_pathway", Num(t.share_in_pathway)},
            {"share_in_layer", Num(t.share_in_layer)},
            {"lift", Num(t.lift)}};
  });
}

json PartnersJson(const std::vector<Partner>& rows) {
  return ArrayOf(rows, [](const Partner& p) -> json {
    return {{"layer", p.layer},
            {"pathway", p.pathway},
            {"together", p.together},
            {"expected", Num(p.expected)},
            {"lift", Num(p.lift)}};
  });
}

json LogitRowsJson(const std::vector<LogitEntry>& rows) {
  return ArrayOf(rows, [](const LogitEntry& e) -> json {
    return {{"token_id", e.token_id}, {"token", e.text}, {"value", Num(e.value)}};
  });
}

json LogitsJson(const PathwayLogits& l) {
  return {{"computed", l.computed},
          {"note", l.note},
          {"checkpoint", l.checkpoint},
          {"contexts", l.contexts},
          {"raised", LogitRowsJson(l.raised)},
          {"lowered", LogitRowsJson(l.lowered)}};
}

json DifferenceJson(const engine::BootstrapDifference& d) {
  return {{"estimate", Num(d.estimate)}, {"ci", json::array({Num(d.low), Num(d.high)})}};
}

// The stored per-category rows, each with its null and chance level (docs/explorer.md).
json AblationCategoriesJson(const std::vector<engine::AblationCategoryEffect>& rows) {
  return ArrayOf(rows, [](const engine::AblationCategoryEffect& r) -> json {
    return {{"category", r.category},
            {"status", r.status},
            {"tokens", r.tokens},
            {"control_tokens", r.control_tokens},
            {"controls_used", r.controls_used},
            {"target_increase", Num(r.target_increase)},
            {"control_increase", Num(r.control_increase)},
            {"difference", DifferenceJson(r.difference)},
            {"null", "load-matched control pathways on their tokens of the category"},
            {"chance_level", 0.0}};
  });
}

// The stored ablation result (docs/explorer.md), or why there is none.
json AblationJson(const PathwayAblation& a) {
  json j = {{"found", a.found}, {"note", a.note}, {"path", a.path}};
  if (!a.found) return j;
  const engine::AblationResult& r = a.result;
  j.update({{"tokens", r.tokens},
            {"sequences", r.sequences},
            {"selected_tokens", r.selected_tokens},
            {"target_effect", Num(r.target_effect)},
            {"control_effect", Num(r.control_effect)},
            {"control_pathways",
             ArrayOf(r.controls, [](const engine::AblationControl& c) { return c.pathway; })},
            {"effect_difference", DifferenceJson(r.effect_difference)},
            {"top_token_count", r.top_token_count},
            {"rest_token_count", r.rest_token_count},
            {"top_increase", Num(r.top_increase)},
            {"rest_increase", Num(r.rest_increase)},
            {"top_vs_rest", DifferenceJson(r.top_vs_rest)},
            {"bootstrap", r.bootstrap},
            {"version", a.version},
            {"category_source", r.category_source},
            {"min_category_tokens", r.min_category_tokens},
            {"categories", AblationCategoriesJson(r.categories)}});
  return j;
}

json LoadJson(const std::vector<LoadBucket>& rows) {
  return ArrayOf(rows, [](const LoadBucket& b) -> json {
    return {{"step_low", b.step_low},
            {"step_high", b.step_high},
            {"events", b.events},
            {"selecting", b.selecting},
            {"load_vs_uniform", Num(b.load_vs_uniform)}};
  });
}

json GridJson(const LayerGrid& g) {
  json cells = ArrayOf(g.cells, [](const GridCell& c) -> json {
    return {{"pathway", c.pathway},
            {"load", c.load},
            {"load_vs_uniform", Num(c.load_vs_uniform)},
            {"mean_gate", Num(c.mean_gate)},
            {"top_tokens_by_lift", LiftsJson(c.top_tokens)}};
  });
  return {{"layer", g.layer},
          {"events", g.events},
          {"max_violation", Num(g.max_violation)},
          {"pathways", cells}};
}

// One pathway as a Neuronpedia feature: its top contexts, gate histogram, logit tables and
// partners as parallel arrays; tokens by lift under monoroute_ keys.
json NeuronpediaFeature(const PathwayProfile& p) {
  json acts = ArrayOf(p.top_contexts, [](const Context& c) -> json {
    return {{"bin_min", -1},
            {"bin_max", -1},
            {"bin_contains", -1},
            {"tokens", ArrayOf(c.tokens, TextOf)},
            {"values", ArrayOf(c.tokens, GateOf)},
            {"qualifying_token_index", c.routed_index}};
  });
  json values = json::array();  // parallel to the heights: one value (bin centre) per height
  const auto& h = p.gate_histogram;
  for (size_t b = 0; b < h.counts.size(); ++b) {
    values.push_back(h.low + (h.high - h.low) * (static_cast<double>(b) + 0.5) /
                                 static_cast<double>(h.counts.size()));
  }
  auto text = [](const auto& row) { return row.text; };
  auto value = [](const LogitEntry& e) { return Num(e.value); };
  auto lift = [](const auto& row) { return Num(row.lift); };
  // Logit tables are empty when not computed.
  return {{"feature_index", p.pathway},
          {"activations", acts},
          {"frac_nonzero", Num(p.density)},
          {"freq_hist_data_bar_heights", h.counts},
          {"freq_hist_data_bar_values", values},
          {"logits_hist_data_bar_heights", json::array()},
          {"logits_hist_data_bar_values", json::array()},
          {"pos_str", ArrayOf(p.logits.raised, text)},
          {"pos_values", ArrayOf(p.logits.raised, value)},
          {"neg_str", ArrayOf(p.logits.lowered, text)},
          {"neg_values", ArrayOf(p.logits.lowered, value)},
          {"monoroute_tokens_by_lift_str", ArrayOf(p.tokens_by_lift, text)},
          {"monoroute_tokens_by_lift_values", ArrayOf(p.tokens_by_lift, lift)},
          // Partners ranked by co-activation lift (not a Pearson correlation: the lifts are
          // under their own key).
          {"correlated_features_indices",
           ArrayOf(p.same_layer_partners, [](const Partner& q) { return q.pathway; })},
          {"monoroute_partner_lift", ArrayOf(p.same_layer_partners, lift)},
          {"n_prompts_total", p.layer_events}};
}

}  // namespace

std::string ProfileToJson(const PathwayProfile& p) {
  json groups = ArrayOf(p.quantile_groups, [](const QuantileGroup& g) -> json {
    return {{"quantile_low", g.quantile_low},
            {"quantile_high", g.quantile_high},
            {"gate_low", g.gate_low},
            {"gate_high", g.gate_high},
            {"events", g.events},
            {"examples", ArrayOf(g.examples, ContextJson)}};
  });
  json j = {{"api_version", kExplorerApiVersion},
            {"run_id", p.run_id},
            {"split", p.split},
            {"layer", p.layer},
            {"pathway", p.pathway},
            {"num_pathways", p.num_pathways},
            {"top_k", p.top_k},
            {"layer_events", p.layer_events},
            {"load", p.load},
            {"load_vs_uniform", Num(p.load_vs_uniform)},
            {"density", Num(p.density)},
            {"mean_gate", Num(p.mean_gate)},
            {"top_contexts", ArrayOf(p.top_contexts, ContextJson)},
            {"quantile_groups", groups},
            {"gate_histogram",
             {{"low", p.gate_histogram.low},
              {"high", p.gate_histogram.high},
              {"counts", p.gate_histogram.counts}}},
            {"tokens_by_lift", LiftsJson(p.tokens_by_lift)},
            {"next_tokens_by_lift", LiftsJson(p.next_tokens_by_lift)},
            {"same_layer_partners", PartnersJson(p.same_layer_partners)},
            {"same_layer_null", p.same_layer_null},
            {"next_layer", p.has_next_layer ? json(p.next_layer) : json(nullptr)},
            {"next_layer_partners", PartnersJson(p.next_layer_partners)},
            {"next_layer_null", p.next_layer_null},
            {"load_over_training", LoadJson(p.load_over_training)},
            {"logits", LogitsJson(p.logits)},
            {"ablation", AblationJson(p.ablation)}};
  return j.dump();
}

std::string RunsToJson(const std::vector<RunListing>& runs) {
  json out = ArrayOf(runs, [](const RunListing& r) -> json {
    return {{"run_id", r.run_id},
            {"labels", r.labels},
            {"events", r.events},
            {"splits", r.splits},
            {"finished", r.finished},
            {"still_writing", r.still_writing},
            {"last_write_unix_ms", r.last_write_unix_ms},
            {"headline", r.headline}};
  });
  return json({{"api_version", kExplorerApiVersion}, {"runs", out}}).dump();
}

std::string OverviewToJson(const OverviewInput& in, const std::string& report_json) {
  json grids = ArrayOf(in.grids, GridJson);
  json report = json::parse(report_json, nullptr, false);
  if (report.is_discarded() || report_json.empty()) report = nullptr;
  return json({{"api_version", kExplorerApiVersion},
               {"run_id", in.run_id},
               {"split", in.split},
               {"labels", in.labels},
               {"events", in.events},
               {"control_splits", in.control_splits},
               {"layers", grids},
               {"report", report},
               {"report_error", in.report_error}})
      .dump();
}

std::string TryToJson(const TryResult& r) {
  json toks = ArrayOf(r.tokens, [](const TryToken& t) -> json {
    json routing = ArrayOf(t.routing, [](const engine::TokenRouting& x) -> json {
      return {{"layer", x.layer}, {"pathways", x.pathways}, {"gates", x.weights}};
    });
    return {{"token_id", t.token_id}, {"token", t.text}, {"routing", routing}};
  });
  return json({{"api_version", kExplorerApiVersion},
               {"checkpoint", r.checkpoint},
               {"num_pathways", r.num_pathways},
               {"top_k", r.top_k},
               {"routed_layers", r.routed_layers},
               {"tokens", toks}})
      .dump();
}

std::string ErrorJson(int http_code, const std::string& message) {
  return json({{"error", {{"code", http_code}, {"message", message}}}}).dump();
}

std::string NeuronpediaBatchJson(const std::string& model_id, const std::string& sae_set,
                                 uint32_t layer, const std::vector<PathwayProfile>& pathways) {
  return json({{"model_id", model_id},
               {"layer", layer},
               {"sae_set", sae_set},
               {"features", ArrayOf(pathways, NeuronpediaFeature)}})
      .dump();
}

}  // namespace monoroute::analysis::explorer
