// Sentence templates of the story grammar, grouped by the story section they belong to.
//
// Template syntax (space-separated parts):
//   word          a literal word; its category comes from the vocabulary (literals first)
//   {slot}        a word drawn from a table (see story_generator.cc for the slot names)
//   {a}           "a" or "an", chosen by the next word
//   . , ! ? :     punctuation, attached to the previous part
//   'x / n't      a clitic ('s 't 'll), attached to the previous part
//   "<  >"        opening / closing double quote
#ifndef MONOROUTE_COMMON_CORPUS_STORY_TEMPLATES_H_
#define MONOROUTE_COMMON_CORPUS_STORY_TEMPLATES_H_

#include <vector>

namespace monoroute::story {

// The sections of a story, in order.
enum class Section {
  kIntro,            // who, where (1 sentence)
  kSetup,            // what they like, their world (2-3)
  kProblem,          // what goes wrong (1)
  kDevelop,          // how it feels (1-2)
  kDialogue,         // the hero speaks (1)
  kHelp,             // a helper arrives (1)
  kHelpDialogue,     // the helper speaks (1)
  kResolution,       // how it is solved (2)
  kResolveDialogue,  // thanks / joy (1)
  kEnding,           // moral / happy end (1)
  kNumSections,
};

// One template and its section; its index in Templates() is its template id.
struct Template {
  Section section;
  const char* text;
};

// All templates. Immutable; safe from any thread.
const std::vector<Template>& Templates();

}  // namespace monoroute::story

#endif  // MONOROUTE_COMMON_CORPUS_STORY_TEMPLATES_H_
