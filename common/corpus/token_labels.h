// Aligns generated text with its tokens: each token gets the ground-truth category of the word
// it belongs to, and per-occurrence labels (of any label set) are reduced to one category per
// token id.
#ifndef MONOROUTE_COMMON_CORPUS_TOKEN_LABELS_H_
#define MONOROUTE_COMMON_CORPUS_TOKEN_LABELS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/corpus/category.h"
#include "common/corpus/label_set.h"
#include "common/corpus/story_generator.h"
#include "common/corpus/token_categories.h"

namespace monoroute {

class Gpt2Tokenizer;

// Tokens of a text with one label per token occurrence.
struct LabeledTokens {
  LabelSet labels;                    // the label names (StoryLabelSet() for generated stories)
  std::vector<int32_t> ids;           // tokenizer ids of the whole text
  std::vector<int32_t> token_labels;  // same length: label index of each token, or kLabelNone
};

// Tokenizes `text` and labels every token with the category of the emitted word that contains
// the token's first non-whitespace byte. So every sub-token of a multi-token word gets the word's
// category, a token spanning several punctuation marks (`."`) the first one's, and tokens that
// are only whitespace or "<|endoftext|>" get kLabelNone. The labels are StoryLabelSet().
// INVALID_ARGUMENT if `trace` does not fit `text` (offsets out of range or overlapping). Tokenizes
// with `num_threads` threads (0 = all cores; the ids do not depend on it).
absl::StatusOr<LabeledTokens> LabelTokens(absl::string_view text, const StoryTrace& trace,
                                          const Gpt2Tokenizer& tokenizer, int num_threads = 0);

// Reduces per-occurrence labels to one label per id (result labels = labeled.labels): the label of
// the strict majority of the id's labelled occurrences (those with a label index of
// labeled.labels; sentinels and out-of-range indices are not counted), kLabelMixed if there is
// none; count = labelled occurrences. Ids outside [0, vocab_size) are ignored.
TokenCategories MajorityCategories(const LabeledTokens& labeled, int32_t vocab_size);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_CORPUS_TOKEN_LABELS_H_
