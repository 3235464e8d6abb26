// Names of the word categories.
#include "common/corpus/category.h"

#include <array>

namespace monoroute {
namespace {

constexpr std::array<absl::string_view, kNumWordCategories + 2> kNames = {
    "name", "animal",    "colour", "food", "place",  "feeling",  "family",      "person", "number",
    "verb", "adjective", "object", "time", "adverb", "function", "punctuation", "mixed",  "none"};

}  // namespace

absl::string_view CategoryName(Category c) {
  const size_t i = static_cast<size_t>(c);
  return i < kNames.size() ? kNames[i] : "none";
}

std::optional<Category> ParseCategory(absl::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Category>(i);
  }
  if (name == "function_word") return Category::kFunction;
  if (name == "color") return Category::kColour;
  return std::nullopt;
}

}  // namespace monoroute
