// Word categories shared by the story generator, the lexicon and the analysis service.
#ifndef MONOROUTE_COMMON_CORPUS_CATEGORY_H_
#define MONOROUTE_COMMON_CORPUS_CATEGORY_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace monoroute {

// A word's category. The first kNumWordCategories values are real word classes; kMixed marks a
// token seen with several categories and no majority; kNone a token with no word (whitespace,
// "<|endoftext|>", or not in the lexicon). Values are stable: they may be stored.
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

// Inverse of CategoryName (also accepts "function_word", "color"); nullopt if unknown.
std::optional<Category> ParseCategory(absl::string_view name);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_CORPUS_CATEGORY_H_
