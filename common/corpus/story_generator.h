// A grammar of TinyStories-style children's stories with planted ground truth: every word it
// emits carries its category, so pathway specialisation can be checked against the truth.
// Stories have a beginning / problem / resolution shape, named characters, animals, objects,
// places, colours, food, feelings, family, numbers and dialogue in quotes, drawn from many
// sentence templates. Deterministic for a seed on every platform (own PRNG, no std::
// distributions).
#ifndef MONOROUTE_COMMON_CORPUS_STORY_GENERATOR_H_
#define MONOROUTE_COMMON_CORPUS_STORY_GENERATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/corpus/category.h"
#include "common/corpus/lexicon.h"

namespace monoroute {

// Generator settings.
struct StoryGeneratorOptions {
  // PRNG seed; the same seed gives byte-identical text.
  uint64_t seed = 1;
};

// One emitted word or punctuation mark and where it sits in the text.
struct EmittedWord {
  size_t begin = 0;                     // byte offset of its first byte in the text
  size_t end = 0;                       // one past its last byte
  Category category = Category::kNone;  // its ground-truth category
};

// What the generator emitted, aligned with the text it appended.
struct StoryTrace {
  std::vector<EmittedWord> words;  // every word/punctuation mark, in text order
  std::vector<int> template_ids;   // the sentence template of every sentence, in order
};

// Story generator. Holds the PRNG state: not thread-safe; use one per thread (seeded apart).
class StoryGenerator {
 public:
  static absl::StatusOr<std::unique_ptr<StoryGenerator>> Create(
      const StoryGeneratorOptions& options = {});
  ~StoryGenerator();

  // Appends one story to `*text`: paragraphs, each ending in '\n', no "<|endoftext|>". If
  // `trace` is given, appends the story's words (offsets into `*text`) and templates to it.
  void AppendStory(std::string* text, StoryTrace* trace = nullptr);

  // Appends `num_stories` stories, each followed by the line "<|endoftext|>\n" (the TinyStories
  // .txt layout).
  void AppendStories(int64_t num_stories, std::string* text, StoryTrace* trace = nullptr);

  // Number of sentence templates; template ids are 0..NumTemplates()-1.
  static int NumTemplates();

  // A short name of template `id` (for reports and tests).
  static absl::string_view TemplateName(int id);

  // Every word the grammar can emit, with its category name (CategoryName; words of several
  // categories appear once per category), sorted by word, then category enum value. Usable as
  // lexicon entries (Lexicon::FromEntries).
  static std::vector<LexiconEntry> Vocabulary();

 private:
  struct State;
  explicit StoryGenerator(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_CORPUS_STORY_GENERATOR_H_
