// A category for every token id of a vocabulary, with per-category occurrence counts, and its TSV
// file format (written by `monoroute corpus generate --categories`, read by the analysis).
#ifndef MONOROUTE_COMMON_CORPUS_TOKEN_CATEGORIES_H_
#define MONOROUTE_COMMON_CORPUS_TOKEN_CATEGORIES_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/corpus/category.h"

namespace monoroute {

class Gpt2Tokenizer;

// Token id -> category. A plain value type; thread-compatible.
//
// TSV format (one header line, then one line per token that has a category other than kNone,
// sorted by id):
//   token_id<TAB>token<TAB>category<TAB>count
// `token` is Gpt2Tokenizer::RenderToken(id) (escaped, never contains a tab); `count` is how many
// labelled occurrences the token had (corpus) or how many lexicon votes it got (lexicon).
struct TokenCategories {
  // category_by_id[id]; size = vocabulary size; kNone where unknown.
  std::vector<Category> category_by_id;
  // count_by_id[id]: occurrences/votes behind the category (0 where kNone).
  std::vector<int64_t> count_by_id;

  // Category of `id`, kNone when out of range.
  Category Get(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < category_by_id.size() ? category_by_id[id]
                                                                      : Category::kNone;
  }

  // Number of token ids per category (indexed by the enum value, kMixed and kNone included).
  std::array<int64_t, kNumWordCategories + 2> CountIdsPerCategory() const;

  // Writes the TSV described above (atomically).
  absl::Status WriteTsv(const std::string& path, const Gpt2Tokenizer& tokenizer) const;

  // Reads a TSV written by WriteTsv for a vocabulary of `vocab_size` ids. INVALID_ARGUMENT naming
  // file and line on a malformed line, an id out of range or an unknown category.
  static absl::StatusOr<TokenCategories> ReadTsv(const std::string& path, int32_t vocab_size);
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_CORPUS_TOKEN_CATEGORIES_H_
