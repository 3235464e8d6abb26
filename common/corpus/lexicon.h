// A word -> category lexicon for real text (data/lexicon/*.tsv, data/lexicon_pos/*.tsv, or any
// researcher's own labels) and its projection onto the token ids of a GPT-2 tokenizer, used by the
// analysis service for category specialisation.
#ifndef MONOROUTE_COMMON_CORPUS_LEXICON_H_
#define MONOROUTE_COMMON_CORPUS_LEXICON_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/corpus/label_set.h"
#include "common/corpus/token_categories.h"

namespace monoroute {

class Gpt2Tokenizer;

// One lexicon line.
struct LexiconEntry {
  std::string word;      // the word as written (case kept, e.g. "Lily", "dog")
  std::string category;  // its category name, exactly as written (e.g. "animal", "NOUN", "B-PER")
};

// Word -> category table over a LabelSet. Immutable after loading; thread-compatible (const
// methods are safe from many threads). Copyable.
class Lexicon {
 public:
  // Loads `path`: a .tsv file, or a directory whose *.tsv files are read in name order. Lines:
  // "word<TAB>category"; blank lines and lines starting with '#' are skipped. Any category name
  // LabelSet::ValidateName accepts is allowed; labels are numbered in order of first appearance.
  // A malformed line (not two tab-separated fields, empty word, word with whitespace, invalid or
  // reserved category name, a word listed twice with different categories, more than kMaxLabels
  // categories) gives INVALID_ARGUMENT naming the file and line; a missing path NOT_FOUND.
  static absl::StatusOr<Lexicon> Load(const std::string& path);

  // Parses one TSV file's contents already in memory (the format and checks of Load); `source`
  // names it in errors as "source:line".
  static absl::StatusOr<Lexicon> ParseTsv(absl::string_view text, const std::string& source);

  // Builds a lexicon from entries (same checks as Load; `source` names them in errors, with the
  // entry's 1-based position as the line).
  static absl::StatusOr<Lexicon> FromEntries(std::vector<LexiconEntry> entries,
                                             absl::string_view source = "<entries>");

  // The project's own lexicon of story categories: data/lexicon as installed
  // (common/base/data_dirs.h: env MONOROUTE_LEXICON_DIR, <exe>/../share/monoroute/lexicon, ...).
  static std::string DefaultPath();

  // All entries in load order (duplicates removed).
  const std::vector<LexiconEntry>& entries() const { return entries_; }

  // The category names, in order of first appearance.
  const LabelSet& labels() const { return labels_; }

  // Label index of `word`, trying it as given and then lower-cased; kLabelNone if absent.
  int32_t Lookup(absl::string_view word) const;

  // Category name of `word` (as Lookup), "none" if absent.
  absl::string_view LookupName(absl::string_view word) const {
    return labels_.NameOf(Lookup(word));
  }

  // Projects the lexicon onto `tokenizer`'s ids (the result's labels are labels()). Rule: for
  // every entry and each of the forms word, " word", Capitalised, " Capitalised", the FIRST token
  // of the form's encoding gets a vote for the entry's category (a one-token form's vote outranks
  // a multi-token form's vote for the same token). A token's category is the category with the
  // most votes of the highest rank; a tie between categories gives kLabelMixed. Tokens without
  // votes are kLabelNone.
  TokenCategories MapTokens(const Gpt2Tokenizer& tokenizer) const;

 private:
  // Numbers the categories of `entries` (entry i read at where[i], "file:line", for errors) and
  // indexes the words, rejecting an invalid category name and a word listed with two categories.
  static absl::StatusOr<Lexicon> Build(std::vector<LexiconEntry> entries,
                                       const std::vector<std::string>& where);

  LabelSet labels_;
  std::vector<LexiconEntry> entries_;
  std::vector<int32_t> entry_labels_;                // label index of entries_[i]
  absl::flat_hash_map<std::string, int32_t> index_;  // word -> label index
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_CORPUS_LEXICON_H_
