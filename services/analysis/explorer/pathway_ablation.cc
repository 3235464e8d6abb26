// AblationResultPath, AblationResultFromJson and ParseAblationJson (every key optional, null
// numbers NaN).
#include "services/analysis/explorer/pathway_ablation.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace monoroute::analysis::explorer {
namespace {

using engine::AblationCategoryEffect;
using engine::AblationControl;
using engine::AblationResult;
using engine::BootstrapDifference;
using nlohmann::json;

// Sets `*out` from j[key]: a number (NaN when the key is present but not a number), an integer,
// or a string; an absent key (or an integer / string of another type) keeps `*out`.
void Read(const json& j, const char* key, double* out) {
  auto it = j.find(key);
  if (it != j.end()) {
    *out = it->is_number() ? it->get<double>() : BootstrapDifference::kNaN;
  }
}
template <typename Int>
std::enable_if_t<std::is_integral_v<Int>> Read(const json& j, const char* key, Int* out) {
  auto it = j.find(key);
  if (it != j.end() && it->is_number_integer()) *out = it->get<Int>();
}
void Read(const json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it != j.end() && it->is_string()) *out = it->get<std::string>();
}
// The integers of the array j[key] (other entries skipped).
template <typename Int>
void Read(const json& j, const char* key, std::vector<Int>* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return;
  for (const json& x : *it) {
    if (x.is_number_integer()) out->push_back(x.get<Int>());
  }
}

// A difference stored as "<name>" (or `estimate`), "<name>_ci", "<name>_se", "<name>_replicates".
BootstrapDifference Difference(const json& j, const std::string& estimate,
                               const std::string& prefix) {
  BootstrapDifference d;
  Read(j, estimate.c_str(), &d.estimate);
  auto it = j.find(prefix + "_ci");
  if (it != j.end() && it->is_array() && it->size() == 2) {
    if ((*it)[0].is_number()) d.low = (*it)[0].get<double>();
    if ((*it)[1].is_number()) d.high = (*it)[1].get<double>();
  }
  Read(j, (prefix + "_se").c_str(), &d.se);
  Read(j, (prefix + "_replicates").c_str(), &d.replicates);
  return d;
}

// One element per object of the array j[key], read by `read`.
template <typename T, typename F>
std::vector<T> Objects(const json& j, const char* key, F read) {
  std::vector<T> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const json& x : *it) {
    if (x.is_object()) out.push_back(read(x));
  }
  return out;
}

AblationControl ControlFromJson(const json& c) {
  AblationControl q;
  Read(c, "pathway", &q.pathway);
  Read(c, "load", &q.load);
  Read(c, "effect", &q.effect);
  return q;
}

AblationCategoryEffect CategoryFromJson(const json& c) {
  AblationCategoryEffect r;
  Read(c, "category", &r.category);
  Read(c, "status", &r.status);
  Read(c, "tokens", &r.tokens);
  Read(c, "control_tokens", &r.control_tokens);
  Read(c, "controls_used", &r.controls_used);
  Read(c, "target_increase", &r.target_increase);
  Read(c, "control_increase", &r.control_increase);
  r.difference = Difference(c, "difference", "difference");
  return r;
}

// The result from a parsed document (j is an object).
AblationResult ResultFromObject(const json& j) {
  AblationResult r;
  Read(j, "layer", &r.layer);
  Read(j, "pathway", &r.pathway);
  Read(j, "tokens", &r.tokens);
  Read(j, "sequences", &r.sequences);
  Read(j, "selected_tokens", &r.selected_tokens);
  Read(j, "base_loss", &r.base_loss);
  Read(j, "ablated_loss", &r.ablated_loss);
  Read(j, "target_effect", &r.target_effect);
  r.controls = Objects<AblationControl>(j, "controls", ControlFromJson);
  Read(j, "control_effect", &r.control_effect);
  r.effect_difference = Difference(j, "effect_difference", "effect_difference");
  Read(j, "top_token_ids", &r.top_token_ids);
  Read(j, "top_token_count", &r.top_token_count);
  Read(j, "rest_token_count", &r.rest_token_count);
  Read(j, "top_increase", &r.top_increase);
  Read(j, "rest_increase", &r.rest_increase);
  r.top_vs_rest = Difference(j, "top_vs_rest_difference", "top_vs_rest");
  Read(j, "selected_increase", &r.selected_increase);
  Read(j, "other_increase", &r.other_increase);
  Read(j, "bootstrap", &r.bootstrap);
  Read(j, "seed", &r.seed);
  Read(j, "category_source", &r.category_source);
  Read(j, "min_category_tokens", &r.min_category_tokens);
  r.categories = Objects<AblationCategoryEffect>(j, "categories", CategoryFromJson);
  return r;
}

// The document as a JSON object, or INVALID_ARGUMENT.
absl::StatusOr<json> ParseObject(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("ablation result: not a JSON object");
  return j;
}

}  // namespace

std::string AblationResultPath(const std::string& checkpoint, uint32_t layer, uint32_t pathway) {
  return (std::filesystem::path(checkpoint) / "ablations" /
          absl::StrCat("layer", layer, "_pathway", pathway, ".json"))
      .string();
}

absl::StatusOr<AblationResult> AblationResultFromJson(const std::string& text, int* version) {
  absl::StatusOr<json> j = ParseObject(text);
  if (!j.ok()) return j.status();
  if (version != nullptr) {
    *version = 1;
    if (j->contains("version")) {
      *version = 0;
      Read(*j, "version", version);
    }
  }
  return ResultFromObject(*j);
}

absl::StatusOr<PathwayAblation> ParseAblationJson(const std::string& text, uint32_t layer,
                                                  uint32_t pathway) {
  PathwayAblation a;
  absl::StatusOr<AblationResult> r = AblationResultFromJson(text, &a.version);
  if (!r.ok()) return r.status();
  if (r->layer != static_cast<int64_t>(layer) || r->pathway != static_cast<int64_t>(pathway)) {
    return absl::InvalidArgumentError(absl::StrCat("ablation result: layer ", r->layer, " pathway ",
                                                   r->pathway, ", not layer ", layer, " pathway ",
                                                   pathway));
  }
  a.found = true;
  a.result = *std::move(r);
  return a;
}

}  // namespace monoroute::analysis::explorer
