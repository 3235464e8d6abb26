// The word tables of the story grammar: every word the generator can emit, by category, with the
// forms the templates need (plurals, past tenses, a name's pronouns).
#ifndef MONOROUTE_COMMON_CORPUS_STORY_VOCABULARY_H_
#define MONOROUTE_COMMON_CORPUS_STORY_VOCABULARY_H_

#include <string>
#include <vector>

#include "common/corpus/category.h"

namespace monoroute::story {

// A character name and its pronouns.
struct NameWord {
  const char* name;
  bool female;
};

// A noun with its plural (may contain a space, e.g. "ice cream"; each word keeps the category).
struct Noun {
  const char* singular;
  const char* plural;
};

// A verb's base form and simple past.
struct Verb {
  const char* base;
  const char* past;
};

// All tables. Immutable, built once; safe to read from any thread.
struct Vocabulary {
  std::vector<NameWord> names;
  std::vector<Noun> animals, foods, objects, places, family, people;
  std::vector<const char*> colours, good_feelings, bad_feelings, feeling_nouns, numbers, ordinals,
      adjectives, adverbs, times;
  std::vector<Verb> moves;    // intransitive: run/ran, play/played (used alone or + place)
  std::vector<Verb> actions;  // transitive: find/found, hold/held (take an object)
  // Words used only as template literals, by category (function words, aux verbs, ...).
  std::vector<std::pair<const char*, Category>> literals;
};

// The one vocabulary instance.
const Vocabulary& GetVocabulary();

}  // namespace monoroute::story

#endif  // MONOROUTE_COMMON_CORPUS_STORY_VOCABULARY_H_
