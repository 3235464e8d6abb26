// Added tokens of a tokenizer.json (HF `AddedVocabulary`): tokens matched in the text before
// pre-tokenisation and BPE (e.g. "<|endoftext|>", "<|padding|>", NeoX's runs of spaces), with
// HF's matching rules: leftmost-longest non-overlapping matches, `single_word`, `lstrip`, `rstrip`.
#ifndef MONOROUTE_COMMON_TOKENIZER_ADDED_TOKENS_H_
#define MONOROUTE_COMMON_TOKENIZER_ADDED_TOKENS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace monoroute {

// One entry of tokenizer.json's `added_tokens`.
struct AddedToken {
  // Token id.
  int32_t id = 0;
  // The text it stands for (matched literally).
  std::string content;
  // Skipped by decoders asked to skip special tokens; no effect on encoding.
  bool special = false;
  // Only matches when not preceded or followed by a word character (Rust regex `\w`).
  bool single_word = false;
  // The match also takes the whitespace before it (up to the previous match).
  bool lstrip = false;
  // The match also takes the whitespace after it.
  bool rstrip = false;
  // Matched against the normalised text (content normalised too); else against the raw text.
  bool normalized = false;
};

// One piece of a split: an added token's id, or text (id < 0) still to be tokenised.
struct AddedTokenSplit {
  // The added token's id, or -1 for text.
  int32_t id = -1;
  // For text: the view into the split input. Empty for a token.
  absl::string_view text;
};

// Finds a set of added tokens in text. Immutable after construction; thread-safe.
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // `tokens` with their `patterns` (the strings to match, e.g. normalised contents), same order.
  // Empty patterns never match.
  AddedTokenMatcher(std::vector<AddedToken> tokens, std::vector<std::string> patterns);

  // True when no token can match.
  bool empty() const { return patterns_.empty(); }

  // Appends the splits of `text` (HF `AddedVocabulary::find_matches`): text pieces are non-empty
  // and never overlap a match; tokens come in order. A match's lstrip/rstrip whitespace is
  // dropped from the text around it.
  void Split(absl::string_view text, std::vector<AddedTokenSplit>* out) const;

 private:
  // Index of the longest pattern that matches at text[i], or -1.
  int LongestAt(absl::string_view text, size_t i) const;

  std::vector<AddedToken> tokens_;
  std::vector<std::string> patterns_;
  // Pattern indices by first byte, longest first.
  std::array<std::vector<int>, 256> by_first_byte_;
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TOKENIZER_ADDED_TOKENS_H_
