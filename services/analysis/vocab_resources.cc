// LoadVocabResources: Gpt2Tokenizer + Lexicon / TokenCategories -> TokenDecoder + CategoryMap
// (which source a --lexicon path is: IsTokenCategoriesTsv, common/corpus/category_source.h).
#include "services/analysis/vocab_resources.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/corpus/category_source.h"
#include "common/corpus/label_set.h"
#include "common/corpus/lexicon.h"
#include "common/corpus/token_categories.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute::analysis {
namespace {

// Label names -> CategoryMap::names; a label index -> itself, the sentinels ("mixed", "none") and
// anything out of range -> -1. LabelSet holds at most kMaxLabels (4096) names, so an index fits
// CategoryMap's element type (checked at compile time).
CategoryMap ToCategoryMap(const TokenCategories& tc) {
  using Index = decltype(CategoryMap::category_of_token)::value_type;
  static_assert(kMaxLabels <= std::numeric_limits<Index>::max(),
                "a label index must fit CategoryMap::category_of_token");
  CategoryMap m;
  m.names = tc.labels.names();
  m.category_of_token.resize(tc.label_by_id.size(), -1);
  for (size_t i = 0; i < tc.label_by_id.size(); ++i) {
    const int32_t label = tc.label_by_id[i];
    m.category_of_token[i] = tc.labels.Contains(label) ? static_cast<Index>(label) : -1;
  }
  return m;
}

}  // namespace

absl::StatusOr<VocabResources> LoadVocabResources(const std::string& tokenizer_dir,
                                                  const std::string& lexicon_path) {
  VocabResources r;
  Gpt2TokenizerOptions topts;
  topts.dir = tokenizer_dir;
  auto tok = Gpt2Tokenizer::Create(topts);
  std::shared_ptr<const Gpt2Tokenizer> tokenizer;
  if (tok.ok()) {
    tokenizer = std::shared_ptr<const Gpt2Tokenizer>(std::move(*tok));
    r.tokenizer_dir = tokenizer_dir.empty() ? "(default)" : tokenizer_dir;
    r.decode = [tokenizer](uint32_t id) {
      return tokenizer->RenderToken(static_cast<int32_t>(id));
    };
    r.keep_alive = tokenizer;
  } else if (!tokenizer_dir.empty()) {
    return absl::Status(tok.status().code(),
                        absl::StrCat("--tokenizer ", tokenizer_dir, ": ", tok.status().message()));
  }
  if (lexicon_path.empty()) return r;
  r.lexicon_path = lexicon_path;
  if (IsTokenCategoriesTsv(lexicon_path)) {
    const int32_t vocab = tokenizer ? tokenizer->vocab_size() : 50257;
    ASSIGN_OR_RETURN(TokenCategories tc, TokenCategories::ReadTsv(lexicon_path, vocab));
    r.categories = ToCategoryMap(tc);
    return r;
  }
  ASSIGN_OR_RETURN(Lexicon lex, Lexicon::Load(lexicon_path));
  if (!tokenizer) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--lexicon ", lexicon_path, ": a word lexicon needs the GPT-2 tokenizer (--tokenizer)"));
  }
  r.categories = ToCategoryMap(lex.MapTokens(*tokenizer));
  return r;
}

}  // namespace monoroute::analysis
