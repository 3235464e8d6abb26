// libFuzzer target: a lexicon TSV (common/corpus Lexicon::ParseTsv, the data/lexicon*/ format
// and researchers' own word lists) and its projection onto GPT-2 token ids (MapTokens, with the
// installed tokenizer of MONOROUTE_TOKENIZER_DIR). Properties: no crash or sanitizer report; an
// accepted lexicon looks up each of its words to that word's category, and its token table has
// one valid label or sentinel per id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "common/corpus/label_set.h"
#include "common/corpus/lexicon.h"
#include "common/tokenizer/gpt2_tokenizer.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

const monoroute::Gpt2Tokenizer& Tokenizer() {
  static const monoroute::Gpt2Tokenizer* tok = [] {
    monoroute::Gpt2TokenizerOptions o;
    o.dir = MONOROUTE_TOKENIZER_DIR;
    auto t = monoroute::Gpt2Tokenizer::Create(o);
    FUZZ_CHECK(t.ok(), "cannot load the GPT-2 tokenizer: %s", t.status().ToString().c_str());
    return t->release();
  }();
  return *tok;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto lex = monoroute::Lexicon::ParseTsv(text, "fuzz.tsv");
  if (!lex.ok()) return 0;
  for (const monoroute::LexiconEntry& e : lex->entries()) {
    FUZZ_CHECK(lex->LookupName(e.word) == e.category, "word '%s' does not look up to '%s'",
               e.word.c_str(), e.category.c_str());
  }
  const monoroute::TokenCategories tc = lex->MapTokens(Tokenizer());
  FUZZ_CHECK(static_cast<int32_t>(tc.label_by_id.size()) == Tokenizer().vocab_size(),
             "token table has %zu ids", tc.label_by_id.size());
  for (int32_t label : tc.label_by_id) {
    FUZZ_CHECK(label == monoroute::kLabelNone || label == monoroute::kLabelMixed ||
                   tc.labels.Contains(label),
               "label %d out of range", label);
  }
  return 0;
}
