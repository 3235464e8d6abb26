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

// The member `key` of j, or null when j is not an object or has no such member.
const json* Member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// The object at j[key], or an empty object when there is none.
const json& ObjectAt(const json& j, const char* key) {
  static const json* const kEmpty = new json(json::object());
  const json* m = Member(j, key);
  return m != nullptr && m->is_object() ? *m : *kEmpty;
}

// The array at j[key], or an empty array when there is none.
const json& ArrayAt(const json& j, const char* key) {
  static const json* const kEmpty = new json(json::array());
  const json* m = Member(j, key);
  return m != nullptr && m->is_array() ? *m : *kEmpty;
}

// A number at j[key]: a JSON number, or an effect object's "excess"; NaN otherwise.
double Num(const json& j, const char* key) {
  const json* m = Member(j, key);
  if (m == nullptr) return kNaN;
  if (m->is_number()) return m->get<double>();
  if (m->is_object()) return Num(*m, "excess");
  return kNaN;
}

// A non-negative integer at j[key] (0 when absent, NaN or negative; clamped to 2^31).
uint32_t Index(const json& j, const char* key) {
  const double v = Num(j, key);
  return v > 0 ? static_cast<uint32_t>(std::min(v, 2147483648.0)) : 0;
}

// The string at j[key] ("" when absent or not a string).
std::string Str(const json& j, const char* key) {
  const json* m = Member(j, key);
  return m != nullptr && m->is_string() ? m->get<std::string>() : "";
}

// The bool at j[key] (false when absent or not a bool).
bool Bool(const json& j, const char* key) {
  const json* m = Member(j, key);
  return m != nullptr && m->is_boolean() && m->get<bool>();
}

// An interval [lo, hi] (array, or object {"low","high"}) at j[key]; NaNs when absent.
Interval IntervalAt(const json& j, const char* key) {
  Interval ci;
  const json* m = Member(j, key);
  if (m == nullptr) return ci;
  if (m->is_array() && m->size() == 2) {
    if ((*m)[0].is_number()) ci.low = (*m)[0].get<double>();
    if ((*m)[1].is_number()) ci.high = (*m)[1].get<double>();
  } else if (m->is_object()) {
    ci.low = Num(*m, "low");
    ci.high = Num(*m, "high");
  }
  return ci;
}

// A schema 3 effect object {"observed", "null_mean", "excess", "ci"}.
bool IsEffectObject(const json& j) { return j.is_object() && j.contains("excess"); }

// The effect object at j[key], or null when there is none.
const json* EffectAt(const json& j, const char* key) {
  const json* m = Member(j, key);
  return m != nullptr && IsEffectObject(*m) ? m : nullptr;
}

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
  for (const auto& [key, value] : ObjectAt(L, "effects").items()) {
    if (IsEffectObject(value)) out.push_back(FromEffectObject(key, "null", value));
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
  for (const json& c : ArrayAt(L, "controls")) {
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
  // Schema 3: the effect object "kl" (report_fields.h); schema 2: kl_excess_nats + _ci.
  if (const json* e = EffectAt(p, "kl")) {
    v.kl_excess = Num(*e, "excess");
    v.kl_ci = IntervalAt(*e, "ci");
  } else {
    v.kl_excess = Num(p, "kl_excess_nats");
    v.kl_ci = IntervalAt(p, "kl_excess_ci");
    if (const json* k = EffectAt(p, "kl_excess_nats")) v.kl_ci = IntervalAt(*k, "ci");
  }
  v.specialised = Bool(p, "specialised");
  v.category_specialised = Bool(p, "category_specialised");
  v.responds_to = Str(p, "answer");
  if (v.responds_to.empty()) v.responds_to = Str(p, "responds_to");
  if (v.responds_to.empty() && v.category_specialised) {
    v.responds_to = Str(p, "category");  // schema 3; schema 2 called it enriched_category
    if (v.responds_to.empty()) v.responds_to = Str(p, "enriched_category");
  }
  for (const char* key : {"top_tokens_by_lift", "top_tokens"}) {
    const json* tokens = Member(p, key);
    if (tokens == nullptr || !tokens->is_array()) continue;
    for (const json& t : *tokens) v.top_tokens.push_back(Str(t, "token"));
    break;
  }
  return v;
}

// The structure effects, the next routed layer and the most co-activated pairs.
void ParseStructure(const json& L, LayerView* v) {
  for (const char* key : {"coactivation", "locality", "cross_layer_mi"}) {
    const json* effect = EffectAt(L, key);
    if (effect == nullptr) continue;
    EffectView e = FromEffectObject(key, "null", *effect);
    if (std::isnan(e.observed)) continue;
    if (std::string(key) == "cross_layer_mi") {
      v->has_next_layer = true;
      v->next_routed_layer = Index(L, "next_routed_layer");
      e.against = "null (within-sequence permutation)";
    }
    v->structure.push_back(e);
  }
  for (const json& p : ArrayAt(L, "coactivation_pairs")) {
    PairView r;
    r.pathway_a = Index(p, "pathway_a");
    r.pathway_b = Index(p, "pathway_b");
    r.together = Index(p, "together");
    r.expected = Num(p, "expected");
    if (const json* lift = EffectAt(p, "lift")) {
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
  if (const json* a = Member(L, "answer")) {
    v.answer = a->is_string() ? a->get<std::string>() : Str(*a, "sentence");
  }
  if (v.answer.empty()) v.answer = ComposeAnswer(v, L);
  for (const json& p : ArrayAt(L, "pathways")) {
    if (p.is_object()) v.pathways.push_back(ParsePathway(p));
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
  const json& run = ObjectAt(j, "run");
  v.run_id = Str(run, "run_id");
  for (const auto& [k, val] : ObjectAt(run, "labels").items()) {
    if (val.is_string()) v.labels[k] = val.get<std::string>();
  }
  v.num_pathways = Index(run, "num_pathways");
  v.top_k = Index(run, "top_k");
  const json& fresh = ObjectAt(run, "freshness");
  v.finished = Bool(fresh, "finished");
  v.still_writing = Bool(fresh, "still_writing");
  const double events = Num(fresh, "events");
  v.events = events > 0 ? static_cast<uint64_t>(std::min(events, 1e18)) : 0;
  for (const json& L : ArrayAt(j, "layers")) {
    if (L.is_object()) v.layers.push_back(ParseLayer(L));
  }
  const json& summary = ObjectAt(j, "summary");
  // Schema 3: summary.answers holds each layer's answer sentence, in layer order.
  if (const json& answers = ArrayAt(summary, "answers"); answers.size() == v.layers.size()) {
    for (size_t i = 0; i < v.layers.size(); ++i) {
      if (answers[i].is_string()) v.layers[i].answer = answers[i].get<std::string>();
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
