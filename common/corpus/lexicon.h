// A word -> category lexicon for real text (data/lexicon/*.tsv) and its projection onto the token
// ids of a GPT-2 tokenizer, used by the analysis service for category specialisation.
#ifndef MONOROUTE_COMMON_CORPUS_LEXICON_H_
#define MONOROUTE_COMMON_CORPUS_LEXICON_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/corpus/category.h"
#include "common/corpus/token_categories.h"

namespace monoroute {

class Gpt2Tokenizer;

// One lexicon line.
struct LexiconEntry {
  std::string word;   // the word as written (case kept, e.g. "Lily", "dog")
  Category category;  // its category (never kMixed/kNone)
};

// Word -> category table. Immutable after loading; thread-compatible (const methods are safe
// from many threads). Copyable.
class Lexicon {
 public:
  // Loads `path`: a .tsv file, or a directory whose *.tsv files are read in name order. Lines:
  // "word<TAB>category"; blank lines and lines starting with '#' are skipped. A malformed line
  // (no tab, empty word, word with whitespace, unknown category, a word listed twice with
  // different categories) gives INVALID_ARGUMENT naming the file and line; a missing path
  // NOT_FOUND.
  static absl::StatusOr<Lexicon> Load(const std::string& path);

  // Builds a lexicon from entries (same checks as Load; `source` names them in errors).
  static absl::StatusOr<Lexicon> FromEntries(std::vector<LexiconEntry> entries,
                                             absl::string_view source = "<entries>");

  // The project's own lexicon: MONOROUTE_SOURCE_DIR/data/lexicon.
  static std::string DefaultPath();

  // All entries in load order (duplicates removed).
  const std::vector<LexiconEntry>& entries() const { return entries_; }

  // Category of `word`, trying it as given and then lower-cased; kNone if absent.
  Category Lookup(absl::string_view word) const;

  // Projects the lexicon onto `tokenizer`'s ids. Rule: for every entry and each of the forms
  // word, " word", Capitalised, " Capitalised", the FIRST token of the form's encoding gets a
  // vote for the entry's category (a one-token form's vote outranks a multi-token form's vote
  // for the same token). A token's category is the category with the most votes of the highest
  // rank; a tie between categories gives kMixed. Tokens without votes are kNone.
  TokenCategories MapTokens(const Gpt2Tokenizer& tokenizer) const;

 private:
  std::vector<LexiconEntry> entries_;
  absl::flat_hash_map<std::string, Category> index_;
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_CORPUS_LEXICON_H_
