// AblationResult's JSON document from one field list: VisitResultFields (with the lists of its
// nested types) names every key once, and AblationResultToJson / AblationResultFromJson walk it
// with a writer and a reader. Torch-free.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "common/engine/ablation.h"

namespace monoroute::engine {
namespace {

using nlohmann::json;

// What a category's control mean is (the document names its null).
constexpr char kCategoryNull[] =
    "load-matched control pathways, ablated alone, on their tokens of this category";

// A visitor V provides `v(key, field)` for int, int64_t, uint64_t, double, std::string and
// std::vector of integers; `v.Difference(prefix, estimate_key, BootstrapDifference)` (the
// estimate under estimate_key, then "<prefix>_ci": [low, high], "<prefix>_se",
// "<prefix>_replicates"); `v.Constant(key, value)` (written, not read back); `v.List(key, items,
// fn)` for a list of objects; `v.IfSet(key, string, fn)` for the string and the keys fn visits,
// all present only when the string is not empty.

// AblationControl (an entry of "controls").
template <typename C, typename V>
void VisitControlFields(C& c, V& v) {
  v("pathway", c.pathway);
  v("load", c.load);
  v("effect", c.effect);
}

// AblationCategoryEffect (an entry of "categories").
template <typename C, typename V>
void VisitCategoryFields(C& c, V& v) {
  v("category", c.category);
  v("status", c.status);
  v("tokens", c.tokens);
  v("control_tokens", c.control_tokens);
  v("controls_used", c.controls_used);
  v("target_increase", c.target_increase);
  v("control_increase", c.control_increase);
  v.Difference("difference", "difference", c.difference);
  v.Constant("null", kCategoryNull);
  v.Constant("chance_level", 0.0);
}

// AblationResult: the document's top level.
template <typename R, typename V>
void VisitResultFields(R& r, V& v) {
  v.Constant("version", kAblationJsonVersion);
  v("layer", r.layer);
  v("pathway", r.pathway);
  v("tokens", r.tokens);
  v("sequences", r.sequences);
  v("selected_tokens", r.selected_tokens);
  v("base_loss", r.base_loss);
  v("ablated_loss", r.ablated_loss);
  v("target_effect", r.target_effect);
  v.List("controls", r.controls, [](auto& c, auto& w) { VisitControlFields(c, w); });
  v("control_effect", r.control_effect);
  v.Difference("effect_difference", "effect_difference", r.effect_difference);
  v("top_token_ids", r.top_token_ids);
  v("top_token_count", r.top_token_count);
  v("rest_token_count", r.rest_token_count);
  v("top_increase", r.top_increase);
  v("rest_increase", r.rest_increase);
  v.Difference("top_vs_rest", "top_vs_rest_difference", r.top_vs_rest);
  v("selected_increase", r.selected_increase);
  v("other_increase", r.other_increase);
  v("bootstrap", r.bootstrap);
  v.Constant("interval", "percentile");
  v("seed", r.seed);
  v.IfSet("category_source", r.category_source, [&] {
    v.Constant("category_of", "current token");
    v("min_category_tokens", r.min_category_tokens);
    v.List("categories", r.categories, [](auto& c, auto& w) { VisitCategoryFields(c, w); });
  });
}

// A number, or null for NaN and infinities (JSON has none).
json Num(double v) { return std::isfinite(v) ? json(v) : json(); }

// Writes the fields into a JSON object.
struct Writer {
  json* out;
  template <typename T>
  void operator()(const char* key, const T& value) {
    if constexpr (std::is_floating_point_v<T>) {
      (*out)[key] = Num(value);
    } else {
      (*out)[key] = value;
    }
  }
  void Difference(const std::string& prefix, const char* estimate_key,
                  const BootstrapDifference& d) {
    (*out)[estimate_key] = Num(d.estimate);
    (*out)[prefix + "_ci"] = json::array({Num(d.low), Num(d.high)});
    (*out)[prefix + "_se"] = Num(d.se);
    (*out)[prefix + "_replicates"] = d.replicates;
  }
  template <typename T>
  void Constant(const char* key, const T& value) {
    (*out)[key] = value;
  }
  template <typename S, typename F>
  void List(const char* key, const std::vector<S>& items, F fn) {
    json list = json::array();
    for (const S& s : items) {
      json o = json::object();
      Writer w{&o};
      fn(s, w);
      list.push_back(std::move(o));
    }
    (*out)[key] = std::move(list);
  }
  template <typename F>
  void IfSet(const char* key, const std::string& value, F fn) {
    if (value.empty()) return;
    (*out)[key] = value;
    fn();
  }
};

// Reads the fields from a JSON object, leniently (documents of every version): a missing key or a
// value of another type keeps the field's default, null reads as NaN for a number.
struct Reader {
  const json* in;
  template <typename T>
  void operator()(const char* key, T& value) {
    auto it = in->find(key);
    if (it != in->end()) Read(*it, value);
  }
  void Difference(const std::string& prefix, const char* estimate_key, BootstrapDifference& d) {
    (*this)(estimate_key, d.estimate);
    auto ci = in->find(prefix + "_ci");
    if (ci != in->end() && ci->is_array() && ci->size() == 2) {
      Read((*ci)[0], d.low);
      Read((*ci)[1], d.high);
    }
    (*this)((prefix + "_se").c_str(), d.se);
    (*this)((prefix + "_replicates").c_str(), d.replicates);
  }
  template <typename T>
  void Constant(const char*, const T&) {}
  template <typename S, typename F>
  void List(const char* key, std::vector<S>& items, F fn) {
    auto it = in->find(key);
    if (it == in->end() || !it->is_array()) return;
    items.clear();
    for (const json& o : *it) {
      if (!o.is_object()) continue;
      S s;
      Reader r{&o};
      fn(s, r);
      items.push_back(std::move(s));
    }
  }
  template <typename F>
  void IfSet(const char* key, std::string& value, F fn) {
    (*this)(key, value);
    if (!value.empty()) fn();
  }

 private:
  static void Read(const json& j, double& value) {
    if (j.is_number()) {
      value = j.get<double>();
    } else if (j.is_null()) {
      value = std::numeric_limits<double>::quiet_NaN();
    }
  }
  static void Read(const json& j, std::string& value) {
    if (j.is_string()) value = j.get<std::string>();
  }
  template <typename T>
  static std::enable_if_t<std::is_integral_v<T>> Read(const json& j, T& value) {
    if (j.is_number_integer()) value = j.get<T>();
  }
  template <typename T>
  static void Read(const json& j, std::vector<T>& value) {
    if (!j.is_array()) return;
    value.clear();
    for (const json& x : j) {
      if (x.is_number_integer()) value.push_back(x.get<T>());
    }
  }
};

}  // namespace

std::string AblationResultToJson(const AblationResult& r) {
  json j = json::object();
  Writer w{&j};
  VisitResultFields(r, w);
  return j.dump();
}

absl::StatusOr<AblationResult> AblationResultFromJson(const std::string& text, int* version) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("ablation result: not a JSON object");
  AblationResult r;
  Reader reader{&j};
  VisitResultFields(r, reader);
  if (version != nullptr) {
    auto it = j.find("version");
    *version = it != j.end() && it->is_number_integer() ? it->get<int>() : 1;
  }
  return r;
}

}  // namespace monoroute::engine
