// ParseReportView: reads schema 2 and schema 3 report documents defensively (every key optional,
// every number possibly null).
#include "services/analysis/explorer/report_view.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace monoroute::analysis::explorer {
namespace {

using nlohmann::json;

// A number at j[key]: a JSON number, or an effect object's "excess"; NaN otherwise.
double Num(const json& j, const char* key) {
  if (!j.is_object()) return kNaN;
  auto it = j.find(key);
  if (it == j.end()) return kNaN;
  if (it->is_number()) return it->get<double>();
  if (it->is_object()) return Num(*it, "excess");
  return kNaN;
}

// A non-negative integer at j[key] (0 when absent, NaN or negative; clamped to 2^31).
uint32_t Index(const json& j, const char* key) {
  const double v = Num(j, key);
  return v > 0 ? static_cast<uint32_t>(std::min(v, 2147483648.0)) : 0;
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

bool Bool(const json& j, const char* key) {
  if (!j.is_object()) return false;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// An interval [lo, hi] (array, or object {"low","high"}) at j[key]; NaNs when absent.
Interval IntervalAt(const json& j, const char* key) {
  Interval ci;
  if (!j.is_object()) return ci;
  auto it = j.find(key);
  if (it == j.end()) return ci;
  if (it->is_array() && it->size() == 2) {
    if ((*it)[0].is_number()) ci.low = (*it)[0].get<double>();
    if ((*it)[1].is_number()) ci.high = (*it)[1].get<double>();
  } else if (it->is_object()) {
    ci.low = Num(*it, "low");
    ci.high = Num(*it, "high");
  }
  return ci;
}

// A schema 3 effect object {"observed", "null_mean", "excess", "ci"}.
bool IsEffectObject(const json& j) { return j.is_object() && j.contains("excess"); }

EffectView FromEffectObject(const std::string& measure, const std::string& against, const json& e) {
  EffectView v;
  v.measure = measure;
  v.against = against;
  v.observed = Num(e, "observed");
  v.null_mean = Num(e, "null_mean");
  if (std::isnan(v.null_mean)) v.null_mean = Num(e, "control");
  v.excess = Num(e, "excess");
  v.ci = IntervalAt(e, "ci");
  return v;
}

// Schema 2: the flat fields of one measure.
void AddFlatEffect(const json& L, const char* measure, const char* observed, const char* null_key,
                   const char* excess, const char* ci, std::vector<EffectView>* out) {
  EffectView v;
  v.measure = measure;
  v.observed = Num(L, observed);
  v.null_mean = null_key ? Num(L, null_key) : 0.0;
  v.excess = Num(L, excess);
  v.ci = IntervalAt(L, ci);
  if (!std::isnan(v.observed) || !std::isnan(v.excess)) out->push_back(v);
}

// Schema 2: a control entry's trained - control deltas.
void AddControlEffects(const json& c, std::vector<EffectView>* out) {
  const std::string name = Str(c, "control");
  // (measure, the control's own excess, the delta's prefix)
  const char* measures[][3] = {
      {"mi_nats", "mi_excess_nats", "mi_excess"},
      {"mean_kl_nats", "mean_kl_excess_nats", "mean_kl_excess"},
      {"token_specialisation", "token_specialisation_excess", "token_specialisation_excess"},
      {"category_ami", "category_ami", "category_ami"}};
  for (const auto& m : measures) {
    const std::string delta = absl::StrCat(m[2], "_delta");
    if (!c.contains(delta)) continue;
    EffectView v;
    v.measure = m[0];
    v.against = name;
    v.null_mean = Num(c, m[1]);
    v.excess = Num(c, delta.c_str());
    v.observed = v.null_mean + v.excess;
    v.ci = IntervalAt(c, absl::StrCat(delta, "_ci").c_str());
    out->push_back(v);
  }
}

// The routing-structure effects of a layer (shown apart from the token effects).
bool IsStructureMeasure(const std::string& key) {
  return key == "coactivation" || key == "locality" || key == "cross_layer_mi";
}

std::vector<EffectView> LayerEffects(const json& L) {
  std::vector<EffectView> out;
  for (const auto& [key, value] : L.items()) {  // schema 3: effect objects
    if (IsEffectObject(value) && !IsStructureMeasure(key)) {
      out.push_back(FromEffectObject(key, "null", value));
    }
  }
  if (auto it = L.find("effects"); it != L.end() && it->is_object()) {
    for (const auto& [key, value] : it->items()) {
      if (IsEffectObject(value)) out.push_back(FromEffectObject(key, "null", value));
    }
  }
  if (out.empty()) {  // schema 2
    AddFlatEffect(L, "mi_nats", "mi_nats", "mi_null_mean", "mi_excess_nats", "mi_excess_ci", &out);
    AddFlatEffect(L, "mean_kl_nats", "mean_kl_nats", "mean_kl_null", "mean_kl_excess_nats",
                  "mean_kl_excess_ci", &out);
    AddFlatEffect(L, "token_specialisation", "token_specialisation", "token_specialisation_chance",
                  "token_specialisation_excess", "token_specialisation_excess_ci", &out);
    AddFlatEffect(L, "category_ami", "category_ami", nullptr, "category_ami", "category_ami_ci",
                  &out);
  }
  if (auto it = L.find("controls"); it != L.end() && it->is_array()) {
    for (const json& c : *it) {
      if (!c.is_object()) continue;
      bool schema3 = false;
      for (const auto& [key, value] : c.items()) {
        if (IsEffectObject(value)) {
          out.push_back(FromEffectObject(key, Str(c, "control"), value));
          schema3 = true;
        }
      }
      if (!schema3) AddControlEffects(c, &out);
    }
  }
  return out;
}

std::string ComposeAnswer(const LayerView& v, const json& L) {
  for (const EffectView& e : v.effects) {
    if ((e.measure != "mi_nats" && e.measure != "mi") || e.against != "null") continue;
    const double flagged = Num(L, "specialised_pathways");
    return absl::StrFormat(
        "I(pathway; token) exceeds its routing null by %.4f nats (95%% CI %.4f to %.4f); %d "
        "pathway(s) specialised.",
        e.excess, e.ci.low, e.ci.high, std::isnan(flagged) ? 0 : static_cast<int>(flagged));
  }
  return "";
}

PathwaySummaryView ParsePathway(const json& p) {
  PathwaySummaryView v;
  v.pathway = Index(p, "pathway");
  v.load_share = Num(p, "load_share");
  v.kl_excess = Num(p, "kl_excess_nats");
  v.kl_ci = IntervalAt(p, "kl_excess_ci");
  if (auto it = p.find("kl_excess_nats"); it != p.end() && IsEffectObject(*it)) {
    v.kl_ci = IntervalAt(*it, "ci");
  }
  v.specialised = Bool(p, "specialised");
  v.category_specialised = Bool(p, "category_specialised");
  v.responds_to = Str(p, "answer");
  if (v.responds_to.empty()) v.responds_to = Str(p, "responds_to");
  if (v.responds_to.empty() && v.category_specialised) v.responds_to = Str(p, "enriched_category");
  for (const char* key : {"top_tokens_by_lift", "top_tokens"}) {
    auto it = p.find(key);
    if (it == p.end() || !it->is_array()) continue;
    for (const json& t : *it) v.top_tokens.push_back(Str(t, "token"));
    break;
  }
  return v;
}

// The structure effects, the next routed layer and the most co-activated pairs.
void ParseStructure(const json& L, LayerView* v) {
  for (const char* key : {"coactivation", "locality", "cross_layer_mi"}) {
    auto it = L.find(key);
    if (it == L.end() || !IsEffectObject(*it)) continue;
    EffectView e = FromEffectObject(key, "null", *it);
    if (std::isnan(e.observed)) continue;
    if (std::string(key) == "cross_layer_mi") {
      v->has_next_layer = true;
      v->next_routed_layer = Index(L, "next_routed_layer");
      e.against = "null (within-sequence permutation)";
    }
    v->structure.push_back(e);
  }
  auto pairs = L.find("coactivation_pairs");
  if (pairs == L.end() || !pairs->is_array()) return;
  for (const json& p : *pairs) {
    PairView r;
    r.pathway_a = Index(p, "pathway_a");
    r.pathway_b = Index(p, "pathway_b");
    r.together = Index(p, "together");
    r.expected = Num(p, "expected");
    if (auto lift = p.find("lift"); lift != p.end() && IsEffectObject(*lift)) {
      r.lift = Num(*lift, "observed");
      r.excess_ci = IntervalAt(*lift, "ci");
    }
    if (r.excess_ci.low > 0) v->top_pairs.push_back(r);
  }
  std::sort(v->top_pairs.begin(), v->top_pairs.end(), [](const PairView& a, const PairView& b) {
    if (a.lift != b.lift) return a.lift > b.lift;
    return std::make_pair(a.pathway_a, a.pathway_b) < std::make_pair(b.pathway_a, b.pathway_b);
  });
  if (v->top_pairs.size() > LayerView::kTopPairs) v->top_pairs.resize(LayerView::kTopPairs);
}

LayerView ParseLayer(const json& L) {
  LayerView v;
  v.layer = Index(L, "layer");
  const double events = Num(L, "events");
  v.events = events > 0 ? static_cast<uint64_t>(std::min(events, 1e18)) : 0;
  v.max_violation = Num(L, "max_violation");
  v.routing_source = Str(L, "routing_source");
  v.effects = LayerEffects(L);
  ParseStructure(L, &v);
  if (auto it = L.find("answer"); it != L.end()) {
    v.answer = it->is_string() ? it->get<std::string>() : Str(*it, "sentence");
  }
  if (v.answer.empty()) v.answer = ComposeAnswer(v, L);
  if (auto it = L.find("pathways"); it != L.end() && it->is_array()) {
    for (const json& p : *it) {
      if (p.is_object()) v.pathways.push_back(ParsePathway(p));
    }
  }
  return v;
}

}  // namespace

const LayerView* ReportView::Layer(uint32_t layer) const {
  for (const LayerView& l : layers) {
    if (l.layer == layer) return &l;
  }
  return nullptr;
}

absl::StatusOr<ReportView> ParseReportView(const std::string& report_json) {
  json j = json::parse(report_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("report: not a JSON object");
  ReportView v;
  v.schema_version =
      static_cast<int>(std::isnan(Num(j, "schema_version")) ? 0 : Num(j, "schema_version"));
  const json run = j.contains("run") && j["run"].is_object() ? j["run"] : json::object();
  v.run_id = Str(run, "run_id");
  if (auto it = run.find("labels"); it != run.end() && it->is_object()) {
    for (const auto& [k, val] : it->items()) {
      if (val.is_string()) v.labels[k] = val.get<std::string>();
    }
  }
  v.num_pathways = Index(run, "num_pathways");
  v.top_k = Index(run, "top_k");
  const json fresh =
      run.contains("freshness") && run["freshness"].is_object() ? run["freshness"] : json::object();
  v.finished = Bool(fresh, "finished");
  v.still_writing = Bool(fresh, "still_writing");
  const double events = Num(fresh, "events");
  v.events = events > 0 ? static_cast<uint64_t>(std::min(events, 1e18)) : 0;
  if (auto it = j.find("layers"); it != j.end() && it->is_array()) {
    for (const json& L : *it) {
      if (L.is_object()) v.layers.push_back(ParseLayer(L));
    }
  }
  const json summary =
      j.contains("summary") && j["summary"].is_object() ? j["summary"] : json::object();
  // Schema 3: summary.answers holds each layer's answer sentence, in layer order.
  if (auto it = summary.find("answers");
      it != summary.end() && it->is_array() && it->size() == v.layers.size()) {
    for (size_t i = 0; i < v.layers.size(); ++i) {
      if ((*it)[i].is_string()) v.layers[i].answer = (*it)[i].get<std::string>();
    }
  }
  v.headline = Str(summary, "answer");
  if (v.headline.empty()) v.headline = Str(j, "answer");
  if (v.headline.empty() && !v.layers.empty()) {
    const double n = Num(summary, "specialised_pathways");
    v.headline = absl::StrCat(std::isnan(n) ? 0 : static_cast<int>(n),
                              " specialised pathway(s) over ", v.layers.size(), " routed layer(s)");
  }
  return v;
}

}  // namespace monoroute::analysis::explorer
