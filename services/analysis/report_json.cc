// Report document builders (nlohmann::json; NaN/inf become null).
#include "services/analysis/report_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace monoroute::analysis {
namespace {

using nlohmann::json;

json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json PathwayJson(const PathwayResult& p) {
  json j;
  j["pathway"] = p.pathway;
  j["load"] = p.load;
  j["load_share"] = Num(p.load_share);
  j["utilised"] = p.utilised;
  j["distinct_tokens"] = p.distinct_tokens;
  j["entropy_nats"] = Num(p.entropy_nats);
  j["entropy_bits"] = Num(p.entropy_bits);
  j["normalised_entropy"] = Num(p.normalised_entropy);
  j["purity"] = Num(p.purity);
  j["null_purity_mean"] = Num(p.null_purity_mean);
  j["null_purity_std"] = Num(p.null_purity_std);
  j["purity_z"] = Num(p.purity_z);
  j["kl_nats"] = Num(p.kl_nats);
  j["null_kl_mean"] = Num(p.null_kl_mean);
  j["null_kl_std"] = Num(p.null_kl_std);
  j["kl_z"] = Num(p.kl_z);
  j["specialised"] = p.specialised;
  j["owned_tokens"] = p.owned_tokens;
  j["mean_token_specialisation"] = Num(p.mean_token_specialisation);
  j["category_purity"] = Num(p.category_purity);
  j["null_category_purity_mean"] = Num(p.null_category_purity_mean);
  j["null_category_purity_std"] = Num(p.null_category_purity_std);
  j["category_purity_z"] = Num(p.category_purity_z);
  json cats = json::array();
  for (const auto& c : p.categories) {
    cats.push_back({{"category", c.category}, {"count", c.count}, {"share", Num(c.share)}});
  }
  j["categories"] = std::move(cats);
  json top = json::array();
  for (const auto& t : p.top_tokens) {
    top.push_back({{"token_id", t.token_id},
                   {"token", t.token},
                   {"count", t.count},
                   {"share", Num(t.share)}});
  }
  j["top_tokens"] = std::move(top);
  return j;
}

json LayerJson(const LayerResult& L, bool with_pathways) {
  json j;
  j["layer"] = L.layer;
  j["num_pathways"] = L.num_pathways;
  j["top_k"] = L.top_k;
  j["events"] = L.events;
  j["routings"] = L.routings;
  j["distinct_tokens"] = L.distinct_tokens;
  j["purity_normaliser_nats"] = Num(std::log(static_cast<double>(L.distinct_tokens)));
  j["mean_purity"] = Num(L.mean_purity);
  j["null_purity_mean"] = Num(L.null_purity_mean);
  j["null_purity_std"] = Num(L.null_purity_std);
  j["purity_z"] = Num(L.purity_z);
  j["mean_kl_nats"] = Num(L.mean_kl_nats);
  j["null_kl_mean"] = Num(L.null_kl_mean);
  j["null_kl_std"] = Num(L.null_kl_std);
  j["kl_z"] = Num(L.kl_z);
  j["null_method"] = L.null_method;
  j["null_samples"] = L.null_samples;
  j["utilisation"] = Num(L.utilisation);
  j["load"] = L.load;
  j["load_entropy_normalised"] = Num(L.load_entropy_normalised);
  j["eligible_tokens"] = L.eligible_tokens;
  j["token_specialisation"] = Num(L.token_specialisation);
  j["token_specialisation_weighted"] = Num(L.token_specialisation_weighted);
  j["token_specialisation_chance"] = Num(L.token_specialisation_chance);
  j["category_nmi"] = Num(L.category_nmi);
  j["category_purity"] = Num(L.category_purity);
  j["specialised_pathways"] = L.specialised_pathways;
  if (with_pathways) {
    json ps = json::array();
    for (const auto& p : L.pathways) ps.push_back(PathwayJson(p));
    j["pathways"] = std::move(ps);
  }
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
  j["freshness"] = {{"watermark", r.watermark},
                    {"events", r.events},
                    {"min_step", r.run_min_step},
                    {"max_step", r.run_max_step},
                    {"first_write_unix_ms", r.first_write_unix_ms},
                    {"last_write_unix_ms", r.last_write_unix_ms},
                    {"still_writing", r.still_writing}};
  return j;
}

json ComparisonJsonImpl(const RunAnalysis& run, const RunAnalysis& base) {
  json rows = json::array();
  for (const auto& L : run.layers) {
    for (const auto& B : base.layers) {
      if (B.layer != L.layer) continue;
      rows.push_back(
          {{"layer", L.layer},
           {"mean_purity", Num(L.mean_purity)},
           {"baseline_mean_purity", Num(B.mean_purity)},
           {"purity_delta", Num(L.mean_purity - B.mean_purity)},
           {"mean_kl_nats", Num(L.mean_kl_nats)},
           {"baseline_mean_kl_nats", Num(B.mean_kl_nats)},
           {"kl_delta", Num(L.mean_kl_nats - B.mean_kl_nats)},
           {"token_specialisation", Num(L.token_specialisation)},
           {"baseline_token_specialisation", Num(B.token_specialisation)},
           {"token_specialisation_delta", Num(L.token_specialisation - B.token_specialisation)},
           {"utilisation", Num(L.utilisation)},
           {"baseline_utilisation", Num(B.utilisation)},
           {"utilisation_delta", Num(L.utilisation - B.utilisation)},
           {"category_nmi", Num(L.category_nmi)},
           {"baseline_category_nmi", Num(B.category_nmi)}});
    }
  }
  return {{"run_id", run.info.run_id},
          {"baseline_run_id", base.info.run_id},
          {"average_purity", Num(AveragePurity(run.layers))},
          {"baseline_average_purity", Num(AveragePurity(base.layers))},
          {"layers", std::move(rows)}};
}

}  // namespace

std::string LayerToJson(const LayerResult& layer, bool with_pathways) {
  return LayerJson(layer, with_pathways).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ComparisonToJson(const RunAnalysis& run, const RunAnalysis& baseline) {
  return ComparisonJsonImpl(run, baseline).dump(2, ' ', false, json::error_handler_t::replace);
}

std::string ReportToJson(const RunAnalysis& run, const RunAnalysis* baseline,
                         const AnalysisOptions& options, int64_t generated_unix_ms) {
  json j;
  j["schema_version"] = kReportSchemaVersion;
  j["generator"] = "monoroute-analysis 0.1.0";
  j["generated_unix_ms"] = generated_unix_ms;
  j["run"] = RunJson(run.info);
  j["options"] = {{"top_tokens", options.top_tokens},
                  {"utilisation_threshold", options.utilisation_threshold},
                  {"min_token_count", options.min_token_count},
                  {"null_samples", options.null_samples},
                  {"category_null_samples", options.category_null_samples},
                  {"seed", options.seed},
                  {"training_ranges", options.training_ranges},
                  {"z_threshold", options.z_threshold}};
  // The seed's three fields.
  j["average_purity"] = Num(AveragePurity(run.layers));
  json util = json::object(), top = json::object();
  for (const auto& L : run.layers) {
    util[std::to_string(L.layer)] = Num(L.utilisation);
    json per = json::object();
    for (const auto& p : L.pathways) {
      json toks = json::array();
      for (const auto& t : p.top_tokens) {
        toks.push_back({{"token_id", t.token_id}, {"token", t.token}, {"count", t.count}});
      }
      per[std::to_string(p.pathway)] = std::move(toks);
    }
    top[std::to_string(L.layer)] = std::move(per);
  }
  j["utilisation_per_layer"] = std::move(util);
  j["top_tokens_per_pathway"] = std::move(top);
  // Run-level summary.
  double null_sum = 0, z_max = -1e300;
  uint32_t specialised = 0, n = 0;
  for (const auto& L : run.layers) {
    for (const auto& p : L.pathways) {
      if (p.load == 0 || !std::isfinite(p.null_purity_mean)) continue;
      null_sum += p.null_purity_mean;
      ++n;
      if (std::isfinite(p.purity_z)) z_max = std::max(z_max, p.purity_z);
    }
    specialised += L.specialised_pathways;
  }
  j["summary"] = {{"average_null_purity", Num(n ? null_sum / n : NAN)},
                  {"max_purity_z", Num(n ? z_max : NAN)},
                  {"specialised_pathways", specialised},
                  {"layers_analysed", run.layers.size()},
                  {"empty_layers", run.empty_layers}};
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
  if (baseline != nullptr) {
    json b;
    b["run"] = RunJson(baseline->info);
    json bl = json::array();
    for (const auto& L : baseline->layers) bl.push_back(LayerJson(L, false));
    b["layers"] = std::move(bl);
    b["comparison"] = ComparisonJsonImpl(run, *baseline);
    j["baseline"] = std::move(b);
  } else {
    j["baseline"] = nullptr;
  }
  // Token texts are rendered printable by the tokenizer; invalid UTF-8 is replaced, never thrown.
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace monoroute::analysis
