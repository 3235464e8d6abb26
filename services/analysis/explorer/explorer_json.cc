// JSON documents of the explorer (see explorer_json.h). Undefined numbers are JSON null.
#include "services/analysis/explorer/explorer_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace monoroute::analysis::explorer {
namespace {

using nlohmann::json;

json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json ContextJson(const Context& c) {
  json toks = json::array(), gates = json::array(), ids = json::array();
  for (const ContextToken& t : c.tokens) {
    toks.push_back(t.text);
    gates.push_back(t.gate);
    ids.push_back(t.token_id);
  }
  return {{"sequence_id", c.sequence_id},
          {"position", c.position},
          {"gate", c.gate},
          {"rank", c.rank},
          {"co_selected", c.co_selected},
          {"next_token_id", c.next_token_id},
          {"next_token", c.next_text},
          {"tokens", toks},
          {"token_ids", ids},
          {"token_gates", gates},
          {"routed_index", c.routed_index}};
}

json LiftsJson(const std::vector<TokenLift>& rows) {
  json out = json::array();
  for (const TokenLift& t : rows) {
    out.push_back({{"token_id", t.token_id},
                   {"token", t.text},
                   {"count_in_pathway", t.count_in_pathway},
                   {"count_in_layer", t.count_in_layer},
                   {"share_in_pathway", Num(t.share_in_pathway)},
                   {"share_in_layer", Num(t.share_in_layer)},
                   {"lift", Num(t.lift)}});
  }
  return out;
}

json PartnersJson(const std::vector<Partner>& rows) {
  json out = json::array();
  for (const Partner& p : rows) {
    out.push_back({{"layer", p.layer},
                   {"pathway", p.pathway},
                   {"together", p.together},
                   {"expected", Num(p.expected)},
                   {"lift", Num(p.lift)}});
  }
  return out;
}

json LogitRowsJson(const std::vector<LogitEntry>& rows) {
  json out = json::array();
  for (const LogitEntry& e : rows) {
    out.push_back({{"token_id", e.token_id}, {"token", e.text}, {"value", Num(e.value)}});
  }
  return out;
}

json LogitsJson(const PathwayLogits& l) {
  return {{"computed", l.computed},
          {"note", l.note},
          {"checkpoint", l.checkpoint},
          {"contexts", l.contexts},
          {"raised", LogitRowsJson(l.raised)},
          {"lowered", LogitRowsJson(l.lowered)}};
}

json DifferenceJson(const AblationDifference& d) {
  return {{"estimate", Num(d.estimate)}, {"ci", json::array({Num(d.low), Num(d.high)})}};
}

// The stored per-category rows, each with its null and chance level (docs/explorer.md).
json AblationCategoriesJson(const std::vector<AblationCategoryRow>& rows) {
  json out = json::array();
  for (const AblationCategoryRow& r : rows) {
    out.push_back({{"category", r.category},
                   {"status", r.status},
                   {"tokens", r.tokens},
                   {"control_tokens", r.control_tokens},
                   {"controls_used", r.controls_used},
                   {"target_increase", Num(r.target_increase)},
                   {"control_increase", Num(r.control_increase)},
                   {"difference", DifferenceJson(r.difference)},
                   {"null", "load-matched control pathways on their tokens of the category"},
                   {"chance_level", 0.0}});
  }
  return out;
}

// The stored ablation result (docs/explorer.md), or why there is none.
json AblationJson(const PathwayAblation& a) {
  json j = {{"found", a.found}, {"note", a.note}, {"path", a.path}};
  if (!a.found) return j;
  j.update({{"tokens", a.tokens},
            {"sequences", a.sequences},
            {"selected_tokens", a.selected_tokens},
            {"target_effect", Num(a.target_effect)},
            {"control_effect", Num(a.control_effect)},
            {"control_pathways", a.control_pathways},
            {"effect_difference", DifferenceJson(a.effect_difference)},
            {"top_token_count", a.top_token_count},
            {"rest_token_count", a.rest_token_count},
            {"top_increase", Num(a.top_increase)},
            {"rest_increase", Num(a.rest_increase)},
            {"top_vs_rest", DifferenceJson(a.top_vs_rest)},
            {"bootstrap", a.bootstrap},
            {"version", a.version},
            {"category_source", a.category_source},
            {"min_category_tokens", a.min_category_tokens},
            {"categories", AblationCategoriesJson(a.categories)}});
  return j;
}

json LoadJson(const std::vector<LoadBucket>& rows) {
  json out = json::array();
  for (const LoadBucket& b : rows) {
    out.push_back({{"step_low", b.step_low},
                   {"step_high", b.step_high},
                   {"events", b.events},
                   {"selecting", b.selecting},
                   {"load_vs_uniform", Num(b.load_vs_uniform)}});
  }
  return out;
}

json GridJson(const LayerGrid& g) {
  json cells = json::array();
  for (const GridCell& c : g.cells) {
    cells.push_back({{"pathway", c.pathway},
                     {"load", c.load},
                     {"load_vs_uniform", Num(c.load_vs_uniform)},
                     {"mean_gate", Num(c.mean_gate)},
                     {"top_tokens_by_lift", LiftsJson(c.top_tokens)}});
  }
  return {{"layer", g.layer},
          {"events", g.events},
          {"max_violation", Num(g.max_violation)},
          {"pathways", cells}};
}

}  // namespace

std::string ProfileToJson(const PathwayProfile& p) {
  json groups = json::array();
  for (const QuantileGroup& g : p.quantile_groups) {
    json ex = json::array();
    for (const Context& c : g.examples) ex.push_back(ContextJson(c));
    groups.push_back({{"quantile_low", g.quantile_low},
                      {"quantile_high", g.quantile_high},
                      {"gate_low", g.gate_low},
                      {"gate_high", g.gate_high},
                      {"events", g.events},
                      {"examples", ex}});
  }
  json top = json::array();
  for (const Context& c : p.top_contexts) top.push_back(ContextJson(c));
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
            {"top_contexts", top},
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
  json out = json::array();
  for (const RunListing& r : runs) {
    out.push_back({{"run_id", r.run_id},
                   {"labels", r.labels},
                   {"events", r.events},
                   {"splits", r.splits},
                   {"finished", r.finished},
                   {"still_writing", r.still_writing},
                   {"last_write_unix_ms", r.last_write_unix_ms},
                   {"headline", r.headline}});
  }
  return json({{"api_version", kExplorerApiVersion}, {"runs", out}}).dump();
}

std::string OverviewToJson(const OverviewInput& in, const std::string& report_json) {
  json grids = json::array();
  for (const LayerGrid& g : in.grids) grids.push_back(GridJson(g));
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
  json toks = json::array();
  for (const TryToken& t : r.tokens) {
    json routing = json::array();
    for (const TryRouting& x : t.routing) {
      routing.push_back({{"layer", x.layer}, {"pathways", x.pathways}, {"gates", x.gates}});
    }
    toks.push_back({{"token_id", t.token_id}, {"token", t.text}, {"routing", routing}});
  }
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
  json features = json::array();
  for (const PathwayProfile& p : pathways) {
    json acts = json::array();
    for (const Context& c : p.top_contexts) {
      json toks = json::array(), vals = json::array();
      for (const ContextToken& t : c.tokens) {
        toks.push_back(t.text);
        vals.push_back(t.gate);
      }
      acts.push_back({{"bin_min", -1},
                      {"bin_max", -1},
                      {"bin_contains", -1},
                      {"tokens", toks},
                      {"values", vals},
                      {"qualifying_token_index", c.routed_index}});
    }
    json heights = json::array(), values = json::array();
    const auto& h = p.gate_histogram;
    for (size_t b = 0; b < h.counts.size(); ++b) {
      heights.push_back(h.counts[b]);  // parallel arrays: one value (bin centre) per height
      values.push_back(h.low + (h.high - h.low) * (static_cast<double>(b) + 0.5) /
                                   static_cast<double>(h.counts.size()));
    }
    // Logit tables (empty when not computed); tokens by lift under monoroute_ keys.
    json pos_str = json::array(), pos_values = json::array();
    json neg_str = json::array(), neg_values = json::array();
    for (const LogitEntry& e : p.logits.raised) {
      pos_str.push_back(e.text);
      pos_values.push_back(Num(e.value));
    }
    for (const LogitEntry& e : p.logits.lowered) {
      neg_str.push_back(e.text);
      neg_values.push_back(Num(e.value));
    }
    json lift_str = json::array(), lift_values = json::array();
    for (const TokenLift& t : p.tokens_by_lift) {
      lift_str.push_back(t.text);
      lift_values.push_back(Num(t.lift));
    }
    json corr_idx = json::array(), corr_val = json::array();
    for (const Partner& q : p.same_layer_partners) {
      corr_idx.push_back(q.pathway);
      corr_val.push_back(Num(q.lift));
    }
    features.push_back({{"feature_index", p.pathway},
                        {"activations", acts},
                        {"frac_nonzero", Num(p.density)},
                        {"freq_hist_data_bar_heights", heights},
                        {"freq_hist_data_bar_values", values},
                        {"logits_hist_data_bar_heights", json::array()},
                        {"logits_hist_data_bar_values", json::array()},
                        {"pos_str", pos_str},
                        {"pos_values", pos_values},
                        {"neg_str", neg_str},
                        {"neg_values", neg_values},
                        {"monoroute_tokens_by_lift_str", lift_str},
                        {"monoroute_tokens_by_lift_values", lift_values},
                        // Partners ranked by co-activation lift (not a Pearson correlation:
                        // the lifts are under their own key).
                        {"correlated_features_indices", corr_idx},
                        {"monoroute_partner_lift", corr_val},
                        {"n_prompts_total", p.layer_events}});
  }
  return json({{"model_id", model_id},
               {"layer", layer},
               {"sae_set", sae_set},
               {"features", features}})
      .dump();
}

}  // namespace monoroute::analysis::explorer
