// Writes a generated story corpus (TinyStories .txt layout) and, optionally, its token-category
// TSV; the library side of `monoroute corpus generate`.
#ifndef MONOROUTE_COMMON_CORPUS_CORPUS_WRITER_H_
#define MONOROUTE_COMMON_CORPUS_CORPUS_WRITER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/corpus/label_set.h"

namespace monoroute {

// What to generate and where.
struct CorpusWriterOptions {
  // Number of stories.
  int64_t num_stories = 1000;
  // PRNG seed.
  uint64_t seed = 1;
  // Output text file (required).
  std::string out_path;
  // Token-category TSV (see token_categories.h); empty = do not write one.
  std::string categories_path;
  // GPT-2 tokenizer directory for the categories; empty = the installed files.
  std::string tokenizer_dir;
  // Threads for tokenizing (0 = all cores).
  int threads = 0;
};

// Figures about what was written.
struct CorpusSummary {
  int64_t stories = 0;          // stories written
  int64_t bytes = 0;            // bytes of text
  int64_t words = 0;            // words and punctuation marks emitted
  int64_t sentences = 0;        // templates used
  double generate_seconds = 0;  // time spent generating the text (not writing it)
  // Filled only when a categories file is written:
  int64_t tokens = 0;               // GPT-2 tokens of the text (incl. one eot per story)
  int64_t distinct_tokens = 0;      // distinct token ids
  LabelSet labels;                  // the category names (StoryLabelSet())
  LabelCounts ids_per_category;     // distinct token ids per category (of the ids that occur)
  LabelCounts tokens_per_category;  // token occurrences per category
};

// Generates and writes the corpus (atomically). INVALID_ARGUMENT for bad options, the file
// error otherwise.
absl::StatusOr<CorpusSummary> WriteCorpus(const CorpusWriterOptions& options);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_CORPUS_CORPUS_WRITER_H_
