// One entry point for "the categories of a vocabulary" as the analysis and the ablation take them
// (--lexicon PATH): a token-categories TSV (header "token_id<TAB>...", token_categories.h) or a
// word lexicon (.tsv file or directory of them, lexicon.h) projected onto a tokenizer.
#ifndef MONOROUTE_COMMON_CORPUS_CATEGORY_SOURCE_H_
#define MONOROUTE_COMMON_CORPUS_CATEGORY_SOURCE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/corpus/token_categories.h"

namespace monoroute {

class Gpt2Tokenizer;

// True when `path` is a readable file whose first line starts with "token_id<TAB>" (a
// token-categories TSV rather than a word lexicon).
bool IsTokenCategoriesTsv(const std::string& path);

// The categories of `vocab_size` token ids from `path`: a token-categories TSV is read as is; a
// word lexicon is loaded and projected with Lexicon::MapTokens onto `tokenizer` (required for a
// lexicon: FAILED_PRECONDITION without one). Errors of the loaders pass through (NOT_FOUND for a
// missing path, INVALID_ARGUMENT naming file and line); the caller prefixes its flag or field.
absl::StatusOr<TokenCategories> LoadCategorySource(const std::string& path,
                                                   const Gpt2Tokenizer* tokenizer,
                                                   int32_t vocab_size);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_CORPUS_CATEGORY_SOURCE_H_
