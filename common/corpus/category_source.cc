// LoadCategorySource: token-categories TSV or word lexicon -> TokenCategories.
#include "common/corpus/category_source.h"

#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/corpus/lexicon.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute {

bool IsTokenCategoriesTsv(const std::string& path) {
  std::ifstream in(path);
  std::string first;
  if (!in || !std::getline(in, first)) return false;
  return absl::StartsWith(first, "token_id\t");
}

absl::StatusOr<TokenCategories> LoadCategorySource(const std::string& path,
                                                   const Gpt2Tokenizer* tokenizer,
                                                   int32_t vocab_size) {
  if (IsTokenCategoriesTsv(path)) return TokenCategories::ReadTsv(path, vocab_size);
  ASSIGN_OR_RETURN(Lexicon lex, Lexicon::Load(path));
  if (tokenizer == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": a word lexicon needs a GPT-2 tokenizer"));
  }
  TokenCategories tc = lex.MapTokens(*tokenizer);
  tc.label_by_id.resize(static_cast<size_t>(vocab_size), kLabelNone);
  tc.count_by_id.resize(static_cast<size_t>(vocab_size), 0);
  return tc;
}

}  // namespace monoroute
