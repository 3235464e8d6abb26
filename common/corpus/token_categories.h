// A category for every token id of a vocabulary, drawn from any label set, and its TSV file format
// (written by `monoroute corpus generate --categories`, read by the analysis).
#ifndef MONOROUTE_COMMON_CORPUS_TOKEN_CATEGORIES_H_
#define MONOROUTE_COMMON_CORPUS_TOKEN_CATEGORIES_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/corpus/label_set.h"

namespace monoroute {

class Gpt2Tokenizer;

// Adds one occurrence of `label` to a token's tally of (label, count) pairs (a token rarely has
// more than a few labels, so a short vector beats a map).
template <class Count>
void TallyLabel(std::vector<std::pair<int32_t, Count>>* tally, int32_t label) {
  auto it = std::find_if(tally->begin(), tally->end(),
                         [label](const std::pair<int32_t, Count>& p) { return p.first == label; });
  if (it == tally->end()) {
    tally->emplace_back(label, 1);
  } else {
    ++it->second;
  }
}

// Token id -> category (an index into `labels`, or kLabelNone / kLabelMixed). A plain value type;
// thread-compatible.
//
// TSV format (one header line, then one line per token whose category is not "none", sorted by
// id):
//   token_id<TAB>token<TAB>category<TAB>count
// `token` is Gpt2Tokenizer::RenderToken(id) (escaped, never contains a tab; ignored when read);
// `category` is a label name (any name LabelSet::ValidateName accepts) or the reserved "mixed";
// `count` is how many labelled occurrences the token had (corpus) or how many lexicon votes it
// got (lexicon).
struct TokenCategories {
  // The category names; label_by_id indexes them.
  LabelSet labels;
  // label_by_id[id]; size = vocabulary size; kLabelNone where unknown.
  std::vector<int32_t> label_by_id;
  // count_by_id[id]: occurrences/votes behind the category (0 where kLabelNone).
  std::vector<int64_t> count_by_id;

  // An all-"none" table for `vocab_size` ids over `labels`.
  static TokenCategories Empty(LabelSet labels, int32_t vocab_size);

  // Label of `id` (an index into `labels` or a sentinel), kLabelNone when out of range.
  int32_t Get(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < label_by_id.size() ? label_by_id[id] : kLabelNone;
  }

  // Name of `id`'s category: a label name, "mixed" or "none".
  absl::string_view NameOf(int32_t id) const { return labels.NameOf(Get(id)); }

  // Number of token ids per label (sentinels apart; "none" counts every id without a category).
  LabelCounts CountIdsPerLabel() const;

  // Writes the TSV described above (atomically).
  absl::Status WriteTsv(const std::string& path, const Gpt2Tokenizer& tokenizer) const;

  // Reads a TSV for a vocabulary of `vocab_size` ids. The label set holds the category names in
  // order of first appearance; "mixed" and "none" are the sentinels. INVALID_ARGUMENT naming file
  // and line on a malformed line, an id out of range, an id listed twice, an invalid category
  // name or more than kMaxLabels distinct names.
  static absl::StatusOr<TokenCategories> ReadTsv(const std::string& path, int32_t vocab_size);

  // The same over a TSV's contents in memory; `source` names it in errors (as the path would).
  static absl::StatusOr<TokenCategories> ParseTsv(absl::string_view text, const std::string& source,
                                                  int32_t vocab_size);
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_CORPUS_TOKEN_CATEGORIES_H_
