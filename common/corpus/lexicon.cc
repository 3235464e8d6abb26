// Lexicon loading (TSV files) and its projection onto GPT-2 token ids.
#include "common/corpus/lexicon.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/data_dirs.h"
#include "common/base/file_util.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;

// INVALID_ARGUMENT naming `where` if `word` is empty or contains whitespace.
absl::Status CheckWord(absl::string_view word, absl::string_view where) {
  if (word.empty() || std::any_of(word.begin(), word.end(), [](char c) {
        return absl::ascii_isspace(static_cast<unsigned char>(c));
      })) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": word \"", word, "\" is empty or contains whitespace"));
  }
  return absl::OkStatus();
}

// Appends the entries of one TSV file's contents `text` to `entries`, and where each was read
// ("path:line") to `where`.
absl::Status ParseText(absl::string_view text, const std::string& path,
                       std::vector<LexiconEntry>* entries, std::vector<std::string>* where) {
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (absl::StripAsciiWhitespace(line).empty() || line.front() == '#') continue;
    const std::string at = absl::StrCat(path, ":", line_no);
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(at, ": expected \"word<TAB>category\", got ",
                                                     f.size(), " field(s): \"", line, "\""));
    }
    absl::Status word = CheckWord(f[0], at);
    if (!word.ok()) return word;
    entries->push_back({std::string(f[0]), std::string(f[1])});
    where->push_back(at);
  }
  return absl::OkStatus();
}

absl::Status ParseFile(const std::string& path, std::vector<LexiconEntry>* entries,
                       std::vector<std::string>* where) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseText(*text, path, entries, where);
}

std::string Capitalised(const std::string& w) {
  std::string c = w;
  if (!c.empty()) c[0] = absl::ascii_toupper(static_cast<unsigned char>(c[0]));
  return c;
}

}  // namespace

absl::StatusOr<Lexicon> Lexicon::Build(std::vector<LexiconEntry> entries,
                                       const std::vector<std::string>& where) {
  Lexicon lex;
  absl::flat_hash_map<std::string, std::string> first_where;
  for (size_t i = 0; i < entries.size(); ++i) {
    LexiconEntry& e = entries[i];
    absl::StatusOr<int32_t> label = lex.labels_.Add(e.category);
    if (!label.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where[i], ": ", label.status().message()));
    }
    auto [it, inserted] = lex.index_.emplace(e.word, *label);
    if (!inserted) {
      if (it->second != *label) {
        return absl::InvalidArgumentError(
            absl::StrCat(where[i], ": word \"", e.word, "\" has category ", e.category, " but ",
                         first_where[e.word], " gave it ", lex.labels_.NameOf(it->second)));
      }
      continue;
    }
    first_where[e.word] = where[i];
    lex.entries_.push_back(std::move(e));
    lex.entry_labels_.push_back(*label);
  }
  return lex;
}

absl::StatusOr<Lexicon> Lexicon::Load(const std::string& path) {
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (e.path().extension() == ".tsv") files.push_back(e.path().string());
    }
    if (ec) return absl::InternalError(absl::StrCat("cannot list ", path, ": ", ec.message()));
    std::sort(files.begin(), files.end());
    if (files.empty()) return absl::NotFoundError(absl::StrCat("no *.tsv lexicon files in ", path));
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  } else {
    return absl::NotFoundError(absl::StrCat("lexicon not found: ", path));
  }
  std::vector<LexiconEntry> entries;
  std::vector<std::string> where;
  for (const std::string& f : files) {
    absl::Status s = ParseFile(f, &entries, &where);
    if (!s.ok()) return s;
  }
  return Build(std::move(entries), where);
}

absl::StatusOr<Lexicon> Lexicon::ParseTsv(absl::string_view text, const std::string& source) {
  std::vector<LexiconEntry> entries;
  std::vector<std::string> where;
  absl::Status s = ParseText(text, source, &entries, &where);
  if (!s.ok()) return s;
  return Build(std::move(entries), where);
}

absl::StatusOr<Lexicon> Lexicon::FromEntries(std::vector<LexiconEntry> entries,
                                             absl::string_view source) {
  std::vector<std::string> where;
  for (size_t i = 0; i < entries.size(); ++i) {
    where.push_back(absl::StrCat(source, ":", i + 1));
    absl::Status word = CheckWord(entries[i].word, where.back());
    if (!word.ok()) return word;
  }
  return Build(std::move(entries), where);
}

std::string Lexicon::DefaultPath() { return DataDirPath(DataResource::kLexicon); }

int32_t Lexicon::Lookup(absl::string_view word) const {
  auto it = index_.find(word);
  if (it != index_.end()) return it->second;
  it = index_.find(absl::AsciiStrToLower(word));
  return it == index_.end() ? kLabelNone : it->second;
}

TokenCategories Lexicon::MapTokens(const Gpt2Tokenizer& tokenizer) const {
  const int32_t v = tokenizer.vocab_size();
  // Per token: best rank seen (1 = the whole form is this token, 0 = first of several) and the
  // votes (label, count) at that rank; a token rarely gets more than a few labels, so a short
  // vector beats a table of kMaxLabels counters.
  std::vector<int8_t> rank(v, -1);
  absl::flat_hash_map<int32_t, std::vector<std::pair<int32_t, int32_t>>> votes;
  for (size_t e = 0; e < entries_.size(); ++e) {
    const std::string& word = entries_[e].word;
    const int32_t label = entry_labels_[e];
    const std::string cap = Capitalised(word);
    std::vector<std::string> forms = {word, " " + word};
    if (cap != word) {
      forms.push_back(cap);
      forms.push_back(" " + cap);
    }
    for (const std::string& form : forms) {
      std::vector<int32_t> ids = tokenizer.Encode(form);
      if (ids.empty()) continue;
      const int32_t id = ids[0];
      const int8_t r = ids.size() == 1 ? 1 : 0;
      if (r < rank[id]) continue;
      auto& vv = votes[id];
      if (r > rank[id]) {
        vv.clear();
        rank[id] = r;
      }
      TallyLabel(&vv, label);
    }
  }
  TokenCategories tc = TokenCategories::Empty(labels_, v);
  for (const auto& [id, vv] : votes) {
    int32_t best = 0;
    int32_t total = 0;
    int ties = 0;
    for (const auto& [label, n] : vv) {
      total += n;
      if (n > best) {
        best = n;
        ties = 1;
        tc.label_by_id[id] = label;
      } else if (n == best) {
        ++ties;
      }
    }
    if (ties > 1) tc.label_by_id[id] = kLabelMixed;
    tc.count_by_id[id] = total;
  }
  return tc;
}

}  // namespace monoroute
