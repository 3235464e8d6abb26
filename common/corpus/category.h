// The story grammar's own word categories (an enum used inside the generator) and their label set,
// which is how they leave the generator: as names (see label_set.h).
#ifndef MONOROUTE_COMMON_CORPUS_CATEGORY_H_
#define MONOROUTE_COMMON_CORPUS_CATEGORY_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "common/corpus/label_set.h"

namespace monoroute {

// A word's category in the story grammar. The first kNumWordCategories values are real word
// classes; kMixed marks a token seen with several categories and no majority; kNone a token with
// no word (whitespace, "<|endoftext|>"). Values are stable: value i < kNumWordCategories is label
// index i of StoryLabelSet().
enum class Category : uint8_t {
  kName = 0,     // character names: Lily, Tom, Max
  kAnimal,       // dog, cat, bird
  kColour,       // red, blue
  kFood,         // apple, cake
  kPlace,        // park, forest, house
  kFeeling,      // happy, sad, scared (adjectives and nouns of emotion)
  kFamily,       // mom, dad, sister
  kPerson,       // girl, boy, friend, teacher (people other than family)
  kNumber,       // one, two, three, first
  kVerb,         // run, ran, play, played
  kAdjective,    // big, little, shiny
  kObject,       // ball, toy, box, tree
  kTime,         // day, morning, night
  kAdverb,       // quickly, slowly, very
  kFunction,     // the, a, and, to, he, she
  kPunctuation,  // . , ! ? " '
  kMixed,        // several categories, none in the majority
  kNone,         // no category
};

// Number of real word categories (kName..kPunctuation).
inline constexpr int kNumWordCategories = 16;

// Lower-case name of a category: "name", "animal", ..., "punctuation", "mixed", "none".
absl::string_view CategoryName(Category c);

// The 16 word categories as a label set, in enum order ("name", "animal", ..., "punctuation").
// Built once; thread-safe.
const LabelSet& StoryLabelSet();

// Label index of `c` in StoryLabelSet(): the enum value for a word category, kLabelMixed for
// kMixed, kLabelNone for kNone.
int32_t StoryLabel(Category c);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_CORPUS_CATEGORY_H_
