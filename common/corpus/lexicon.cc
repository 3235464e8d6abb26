// Lexicon loading (TSV files) and its projection onto GPT-2 token ids.
#include "common/corpus/lexicon.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/file_util.h"
#include "common/tokenizer/gpt2_tokenizer.h"

#ifndef MONOROUTE_SOURCE_DIR
#define MONOROUTE_SOURCE_DIR "."
#endif

namespace monoroute {
namespace {

namespace fs = std::filesystem;

struct Located {
  LexiconEntry entry;
  std::string where;  // "file:line"
};

absl::Status ParseFile(const std::string& path, std::vector<Located>* out) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (absl::StripAsciiWhitespace(line).empty() || line.front() == '#') continue;
    const std::string where = absl::StrCat(path, ":", line_no);
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": expected \"word<TAB>category\", got ", f.size(), " field(s): \"", line, "\""));
    }
    if (f[0].empty() || std::any_of(f[0].begin(), f[0].end(), [](char c) {
          return absl::ascii_isspace(static_cast<unsigned char>(c));
        })) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": word \"", f[0], "\" is empty or contains whitespace"));
    }
    std::optional<Category> c = ParseCategory(f[1]);
    if (!c.has_value() || *c == Category::kMixed || *c == Category::kNone) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown category \"", f[1], "\""));
    }
    out->push_back({{std::string(f[0]), *c}, where});
  }
  return absl::OkStatus();
}

// Fills entries/index from `all`, rejecting a word listed with two categories.
absl::Status Build(std::vector<Located> all, std::vector<LexiconEntry>* entries,
                   absl::flat_hash_map<std::string, Category>* index) {
  absl::flat_hash_map<std::string, std::string> first_where;
  for (Located& l : all) {
    auto [it, inserted] = index->emplace(l.entry.word, l.entry.category);
    if (!inserted) {
      if (it->second != l.entry.category) {
        return absl::InvalidArgumentError(absl::StrCat(
            l.where, ": word \"", l.entry.word, "\" has category ", CategoryName(l.entry.category),
            " but ", first_where[l.entry.word], " gave it ", CategoryName(it->second)));
      }
      continue;
    }
    first_where[l.entry.word] = l.where;
    entries->push_back(std::move(l.entry));
  }
  return absl::OkStatus();
}

std::string Capitalised(const std::string& w) {
  std::string c = w;
  if (!c.empty()) c[0] = absl::ascii_toupper(static_cast<unsigned char>(c[0]));
  return c;
}

}  // namespace

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
  std::vector<Located> all;
  for (const std::string& f : files) {
    absl::Status s = ParseFile(f, &all);
    if (!s.ok()) return s;
  }
  Lexicon lex;
  absl::Status built = Build(std::move(all), &lex.entries_, &lex.index_);
  if (!built.ok()) return built;
  return lex;
}

absl::StatusOr<Lexicon> Lexicon::FromEntries(std::vector<LexiconEntry> entries,
                                             absl::string_view source) {
  std::vector<Located> all;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string where = absl::StrCat(source, ":", i + 1);
    if (entries[i].word.empty() ||
        std::any_of(entries[i].word.begin(), entries[i].word.end(),
                    [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); })) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": word \"", entries[i].word, "\" is empty or contains whitespace"));
    }
    if (static_cast<int>(entries[i].category) >= kNumWordCategories) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": not a word category"));
    }
    all.push_back({std::move(entries[i]), where});
  }
  Lexicon lex;
  absl::Status built = Build(std::move(all), &lex.entries_, &lex.index_);
  if (!built.ok()) return built;
  return lex;
}

std::string Lexicon::DefaultPath() { return MONOROUTE_SOURCE_DIR "/data/lexicon"; }

Category Lexicon::Lookup(absl::string_view word) const {
  auto it = index_.find(word);
  if (it != index_.end()) return it->second;
  it = index_.find(absl::AsciiStrToLower(word));
  return it == index_.end() ? Category::kNone : it->second;
}

TokenCategories Lexicon::MapTokens(const Gpt2Tokenizer& tokenizer) const {
  const int32_t v = tokenizer.vocab_size();
  constexpr int kC = kNumWordCategories;
  // Per token: best rank seen (1 = the whole form is this token, 0 = first of several) and the
  // votes per category at that rank.
  std::vector<int8_t> rank(v, -1);
  absl::flat_hash_map<int32_t, std::array<int32_t, kC>> votes;
  for (const LexiconEntry& e : entries_) {
    const std::string cap = Capitalised(e.word);
    std::vector<std::string> forms = {e.word, " " + e.word};
    if (cap != e.word) {
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
        vv.fill(0);
        rank[id] = r;
      }
      ++vv[static_cast<int>(e.category)];
    }
  }
  TokenCategories tc;
  tc.category_by_id.assign(v, Category::kNone);
  tc.count_by_id.assign(v, 0);
  for (const auto& [id, vv] : votes) {
    int best = 0;
    int32_t total = 0;
    for (int c = 0; c < kC; ++c) {
      total += vv[c];
      if (vv[c] > vv[best]) best = c;
    }
    const bool tie = std::count(vv.begin(), vv.end(), vv[best]) > 1;
    tc.category_by_id[id] = tie ? Category::kMixed : static_cast<Category>(best);
    tc.count_by_id[id] = total;
  }
  return tc;
}

}  // namespace monoroute
