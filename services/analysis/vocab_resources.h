// Token texts and token categories for the analysis: glue between analysis_core (which only sees
// a TokenDecoder and a CategoryMap) and the tokenizer / lexicon libraries.
#ifndef MONOROUTE_SERVICES_ANALYSIS_VOCAB_RESOURCES_H_
#define MONOROUTE_SERVICES_ANALYSIS_VOCAB_RESOURCES_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "services/analysis/layer_analysis.h"

namespace monoroute::analysis {

// A loaded vocabulary: decoder (may be empty) and categories (may be absent). Immutable after
// LoadVocabResources; thread-safe to share.
struct VocabResources {
  TokenDecoder decode;
  std::optional<CategoryMap> categories;
  std::string tokenizer_dir;               // where the tokenizer was loaded from ("" if none)
  std::string lexicon_path;                // where the categories came from ("" if none)
  std::shared_ptr<const void> keep_alive;  // owns the tokenizer behind `decode`
};

// Loads the GPT-2 tokenizer from `tokenizer_dir` (empty: the build's default directory; a failure
// to load the default is not an error, decoding is then off) and, when `lexicon_path` is set,
// the categories: either a token-categories TSV (first line "token_id<TAB>token<TAB>category...")
// or a word lexicon (.tsv file or directory) projected onto the tokenizer. Category names are any
// label set (story categories, POS tags, ...): CategoryMap::names are its names in order of first
// appearance in the file(s); tokens whose category is "mixed" or "none" map to -1. A malformed
// lexicon or TSV gives INVALID_ARGUMENT naming the file and line; a missing one NOT_FOUND.
absl::StatusOr<VocabResources> LoadVocabResources(const std::string& tokenizer_dir,
                                                  const std::string& lexicon_path);

}  // namespace monoroute::analysis

#endif  // MONOROUTE_SERVICES_ANALYSIS_VOCAB_RESOURCES_H_
