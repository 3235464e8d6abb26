// AblationResultPath and ParseAblationJson (every key optional, null numbers NaN).
#include "services/analysis/explorer/pathway_ablation.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace monoroute::analysis::explorer {
namespace {

using nlohmann::json;

double Num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>()
                                          : std::numeric_limits<double>::quiet_NaN();
}

int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

AblationDifference Difference(const json& j, const char* estimate, const char* ci) {
  AblationDifference d;
  d.estimate = Num(j, estimate);
  auto it = j.find(ci);
  if (it != j.end() && it->is_array() && it->size() == 2) {
    if ((*it)[0].is_number()) d.low = (*it)[0].get<double>();
    if ((*it)[1].is_number()) d.high = (*it)[1].get<double>();
  }
  return d;
}

// The stored "categories" array (entries that are not objects are skipped).
std::vector<AblationCategoryRow> CategoryRows(const json& j) {
  std::vector<AblationCategoryRow> rows;
  auto it = j.find("categories");
  if (it == j.end() || !it->is_array()) return rows;
  for (const json& c : *it) {
    if (!c.is_object()) continue;
    AblationCategoryRow r;
    r.category = Str(c, "category");
    r.status = Str(c, "status");
    r.tokens = Int(c, "tokens");
    r.control_tokens = Int(c, "control_tokens");
    if (auto used = c.find("controls_used"); used != c.end() && used->is_array()) {
      for (const json& q : *used) {
        if (q.is_number_integer()) r.controls_used.push_back(q.get<uint32_t>());
      }
    }
    r.target_increase = Num(c, "target_increase");
    r.control_increase = Num(c, "control_increase");
    r.difference = Difference(c, "difference", "difference_ci");
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace

std::string AblationResultPath(const std::string& checkpoint, uint32_t layer, uint32_t pathway) {
  return (std::filesystem::path(checkpoint) / "ablations" /
          absl::StrCat("layer", layer, "_pathway", pathway, ".json"))
      .string();
}

absl::StatusOr<PathwayAblation> ParseAblationJson(const std::string& text, uint32_t layer,
                                                  uint32_t pathway) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("ablation result: not a JSON object");
  if (Int(j, "layer") != layer || Int(j, "pathway") != pathway) {
    return absl::InvalidArgumentError(absl::StrCat("ablation result: layer ", Int(j, "layer"),
                                                   " pathway ", Int(j, "pathway"), ", not layer ",
                                                   layer, " pathway ", pathway));
  }
  PathwayAblation a;
  a.found = true;
  a.tokens = Int(j, "tokens");
  a.sequences = Int(j, "sequences");
  a.selected_tokens = Int(j, "selected_tokens");
  a.target_effect = Num(j, "target_effect");
  a.control_effect = Num(j, "control_effect");
  if (auto it = j.find("controls"); it != j.end() && it->is_array()) {
    for (const json& c : *it) {
      if (c.is_object()) a.control_pathways.push_back(static_cast<uint32_t>(Int(c, "pathway")));
    }
  }
  a.effect_difference = Difference(j, "effect_difference", "effect_difference_ci");
  a.top_token_count = Int(j, "top_token_count");
  a.rest_token_count = Int(j, "rest_token_count");
  a.top_increase = Num(j, "top_increase");
  a.rest_increase = Num(j, "rest_increase");
  a.top_vs_rest = Difference(j, "top_vs_rest_difference", "top_vs_rest_ci");
  a.bootstrap = static_cast<int>(Int(j, "bootstrap"));
  a.version = j.contains("version") ? static_cast<int>(Int(j, "version")) : 1;
  a.category_source = Str(j, "category_source");
  a.min_category_tokens = Int(j, "min_category_tokens");
  a.categories = CategoryRows(j);
  return a;
}

}  // namespace monoroute::analysis::explorer
