// Report document builders (nlohmann::json; NaN/inf become null). Result fields come from
// report_fields.h through JsonVisitor.
#include "services/analysis/report_json.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "services/analysis/report_answer.h"
#include "services/analysis/report_fields.h"

namespace monoroute::analysis {
namespace {

using nlohmann::json;

json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// [lo, hi], each null when not computed.
json Ci(const Interval& i) { return json::array({Num(i.low), Num(i.high)}); }

json EffectJson(const Effect& e);

// Writes each visited field into a JSON object.
struct JsonVisitor {
  json& out;
  template <typename T>
  std::enable_if_t<std::is_integral_v<T>> operator()(const char* name, T v) {
    out[name] = v;
  }
  void operator()(const char* name, double v) { out[name] = Num(v); }
  void operator()(const char* name, const std::string& v) { out[name] = v; }
  void operator()(const char* name, const Interval& v) { out[name] = Ci(v); }
  void operator()(const char* name, const Effect& v) { out[name] = EffectJson(v); }
  void operator()(const char* name, const std::vector<uint64_t>& v) { out[name] = v; }
  template <typename S>
  void List(const char* name, const std::vector<S>& items) {
    json a = json::array();
    for (const S& s : items) a.push_back(Object(s));
    out[name] = std::move(a);
  }
  // One visited struct as a JSON object.
  template <typename S>
  static json Object(const S& s) {
    json o = json::object();
    JsonVisitor sub{o};
    VisitFields(s, sub);
    return o;
  }
};

// {"observed", "null_mean", "excess", "ci": [lo, hi]} (report_fields.h).
json EffectJson(const Effect& e) { return JsonVisitor::Object(e); }

json LayerJson(const LayerResult& L, bool with_pathways) {
  json j = json::object();
  JsonVisitor v{j};
  VisitSummaryFields(L, v);
  if (with_pathways) v.List("pathways", L.pathways);
  return j;
}

json ControlJson(const ControlComparison& c) {
  json j = json::object();
  JsonVisitor v{j};
  VisitFields(c, v);
  return j;
}

json RunJson(const RunInfo& r) {
  json j;
  j["run_id"] = r.run_id;
  j["labels"] = r.labels;
  j["routed_layers"] = r.routed_layers;
  j["num_pathways"] = r.num_pathways;
  j["top_k"] = r.top_k;
  j["vocab_size"] = r.vocab_size;
  j["selection"] = {{"split", r.split}, {"min_step", r.min_step}, {"max_step", r.max_step}};
  j["splits_read"] = r.splits_read;
  j["freshness"] = {{"watermark", r.watermark},
                    {"events", r.events},
                    {"min_step", r.run_min_step},
                    {"max_step", r.run_max_step},
                    {"first_write_unix_ms", r.first_write_unix_ms},
                    {"last_write_unix_ms", r.last_write_unix_ms},
                    {"finished", r.finished},
                    {"still_writing", r.still_writing}};
  return j;
}

// The headline of each layer: each measure's excess over the null and over each control.
json Headline(const std::vector<LayerResult>& layers) {
  json rows = json::array();
  struct M {
    const char* name;
    Effect LayerResult::*value;
    Effect ControlComparison::*delta;
  };
  static const M kMeasures[] = {
      {"mi", &LayerResult::mi, &ControlComparison::mi_delta},
      {"mean_kl", &LayerResult::mean_kl, &ControlComparison::mean_kl_delta},
      {"token_specialisation", &LayerResult::token_specialisation,
       &ControlComparison::token_specialisation_delta},
      {"category_ami", &LayerResult::category_ami, &ControlComparison::category_ami_delta},
  };
  for (const LayerResult& L : layers) {
    for (const M& m : kMeasures) {
      if (!std::isfinite((L.*m.value).excess)) continue;
      json r = {{"layer", L.layer}, {"measure", m.name}, {"over_null", EffectJson(L.*m.value)}};
      json over = json::object();
      for (const ControlComparison& c : L.controls) over[c.control] = EffectJson(c.*m.delta);
      r["over_controls"] = std::move(over);
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

}  // namespace

double AveragePurity(const std::vector<LayerResult>& layers) {
  double sum = 0.0;
  uint64_t n = 0;
  for (const auto& L : layers) {
    for (const auto& p : L.pathways) {
      if (p.load > 0 && std::isfinite(p.purity.observed)) {
        sum += p.purity.observed;
        ++n;
      }
    }
  }
  return n ? sum / n : kNaN;
}

std::string LayerToJson(const LayerResult& layer, bool with_pathways) {
  return LayerJson(layer, with_pathways).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string OptionsToJson(const AnalysisOptions& o) {
  json j = {{"top_tokens", o.top_tokens},
            {"utilisation_threshold", o.utilisation_threshold},
            {"min_token_count", o.min_token_count},
            {"null_replicates", o.null_replicates},
            {"bootstrap", o.bootstrap},
            {"min_blocks", o.min_blocks},
            {"category_permutations", o.category_permutations},
            {"category_stratum_types", o.category_stratum_types},
            {"min_effect_nats", o.min_effect_nats},
            {"min_effect_share", o.min_effect_share},
            {"min_source_nats", o.min_source_nats},
            {"min_lift_count", o.min_lift_count},
            {"estimand_events", o.estimand_events},
            {"sources", o.sources},
            {"synthetic_controls", o.synthetic_controls},
            {"min_category_enrichment", o.min_category_enrichment},
            {"fdr", o.fdr},
            {"confidence", o.confidence},
            {"seed", o.seed},
            {"training_ranges", o.training_ranges}};
  return j.dump();
}

std::string ComparisonToJson(const RunAnalysis& run, const RunAnalysis& baseline,
                             const std::vector<std::pair<uint32_t, ControlComparison>>& rows) {
  json layers = json::array();
  for (const auto& [layer, c] : rows) {
    json r = ControlJson(c);
    r["layer"] = layer;
    layers.push_back(std::move(r));
  }
  json j = {{"run_id", run.info.run_id},
            {"baseline_run_id", baseline.info.run_id},
            {"layers", std::move(layers)}};
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

std::string ReportToJson(const RunAnalysis& run, const RunAnalysis* baseline,
                         const AnalysisOptions& options, int64_t generated_unix_ms) {
  json j;
  j["schema_version"] = kReportSchemaVersion;
  j["generator"] = "monoroute-analysis 0.3.0";
  j["generated_unix_ms"] = generated_unix_ms;
  j["run"] = RunJson(run.info);
  j["options"] = json::parse(OptionsToJson(options));
  // The seed's three fields.
  j["average_purity"] = Num(AveragePurity(run.layers));
  json util = json::object(), top = json::object();
  for (const auto& L : run.layers) {
    util[std::to_string(L.layer)] = Num(L.utilisation);
    json per = json::object();
    for (const auto& p : L.pathways) {
      json toks = json::array();
      for (const auto& t : p.top_tokens) {
        toks.push_back({{"token_id", t.token_id},
                        {"token", t.token},
                        {"count", t.count},
                        {"lift", Num(t.lift)}});
      }
      per[std::to_string(p.pathway)] = std::move(toks);
    }
    top[std::to_string(L.layer)] = std::move(per);
  }
  j["utilisation_per_layer"] = std::move(util);
  j["top_tokens_per_pathway"] = std::move(top);
  // Run-level summary.
  uint32_t specialised = 0, vs_null = 0, cat_specialised = 0;
  std::vector<std::string> references, answers, sources;
  for (const auto& L : run.layers) {
    specialised += L.specialised_pathways;
    vs_null += L.specialised_vs_null_pathways;
    cat_specialised += L.category_specialised_pathways;
    references.push_back(L.specialised_reference);
    answers.push_back(LayerAnswer(L));
    sources.push_back(L.routing_source);
  }
  j["summary"] = {{"layers_analysed", run.layers.size()},
                  {"empty_layers", run.empty_layers},
                  {"answers", answers},
                  {"routing_sources", sources},
                  {"specialised_pathways", specialised},
                  {"specialised_vs_null_pathways", vs_null},
                  {"category_specialised_pathways", cat_specialised},
                  {"specialised_reference", references},
                  {"headline", Headline(run.layers)}};
  json layers = json::array();
  for (const auto& L : run.layers) layers.push_back(LayerJson(L, true));
  j["layers"] = std::move(layers);
  json over = json::array();
  for (const auto& r : run.over_training) {
    json ls = json::array();
    for (const auto& L : r.layers) ls.push_back(LayerJson(L, false));
    over.push_back({{"min_step", r.min_step}, {"max_step", r.max_step}, {"layers", std::move(ls)}});
  }
  j["over_training"] = std::move(over);
  {
    json sat = json::object();
    JsonVisitor v{sat};
    v.List("router_saturation", run.router_saturation);
    j["router_saturation"] = std::move(sat["router_saturation"]);
  }
  if (baseline != nullptr) {
    json b;
    b["run"] = RunJson(baseline->info);
    json bl = json::array();
    for (const auto& L : baseline->layers) bl.push_back(LayerJson(L, false));
    b["layers"] = std::move(bl);
    b["comparison"] =
        json::parse(ComparisonToJson(run, *baseline, CompareRuns(run, *baseline, options)));
    j["baseline"] = std::move(b);
  } else {
    j["baseline"] = nullptr;
  }
  // Token texts are rendered printable by the tokenizer; invalid UTF-8 is replaced, never thrown.
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace monoroute::analysis
