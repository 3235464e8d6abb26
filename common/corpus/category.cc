// Names of the story grammar's word categories and their label set.
#include "common/corpus/category.h"

#include <array>
#include <string>
#include <vector>

namespace monoroute {
namespace {

constexpr std::array<absl::string_view, kNumWordCategories> kNames = {
    "name",   "animal", "colour",    "food",   "place", "feeling", "family",   "person",
    "number", "verb",   "adjective", "object", "time",  "adverb",  "function", "punctuation"};

}  // namespace

absl::string_view CategoryName(Category c) {
  const size_t i = static_cast<size_t>(c);
  if (i < kNames.size()) return kNames[i];
  return c == Category::kMixed ? kLabelMixedName : kLabelNoneName;
}

const LabelSet& StoryLabelSet() {
  static const LabelSet* const set = [] {
    std::vector<std::string> names(kNames.begin(), kNames.end());
    // The names are valid constants: FromNames cannot fail.
    return new LabelSet(*LabelSet::FromNames(names));
  }();
  return *set;
}

int32_t StoryLabel(Category c) {
  const int i = static_cast<int>(c);
  if (i < kNumWordCategories) return i;
  return c == Category::kMixed ? kLabelMixed : kLabelNone;
}

}  // namespace monoroute
