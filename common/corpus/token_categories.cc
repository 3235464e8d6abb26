// TokenCategories: per-label counts and the TSV file format.
#include "common/corpus/token_categories.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/file_util.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute {

TokenCategories TokenCategories::Empty(LabelSet labels, int32_t vocab_size) {
  TokenCategories tc;
  tc.labels = std::move(labels);
  tc.label_by_id.assign(vocab_size, kLabelNone);
  tc.count_by_id.assign(vocab_size, 0);
  return tc;
}

LabelCounts TokenCategories::CountIdsPerLabel() const {
  LabelCounts n(labels.size());
  for (int32_t label : label_by_id) n.Add(label);
  return n;
}

absl::Status TokenCategories::WriteTsv(const std::string& path,
                                       const Gpt2Tokenizer& tokenizer) const {
  std::string out = "token_id\ttoken\tcategory\tcount\n";
  for (size_t id = 0; id < label_by_id.size(); ++id) {
    const int32_t label = label_by_id[id];
    if (label != kLabelMixed && !labels.Contains(label)) continue;  // none
    absl::StrAppend(&out, id, "\t", tokenizer.RenderToken(static_cast<int32_t>(id)), "\t",
                    labels.NameOf(label), "\t", id < count_by_id.size() ? count_by_id[id] : 0,
                    "\n");
  }
  return WriteFileAtomic(path, out);
}

absl::StatusOr<TokenCategories> TokenCategories::ReadTsv(const std::string& path,
                                                         int32_t vocab_size) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseTsv(*text, path, vocab_size);
}

absl::StatusOr<TokenCategories> TokenCategories::ParseTsv(absl::string_view text,
                                                          const std::string& source,
                                                          int32_t vocab_size) {
  TokenCategories tc = Empty(LabelSet(), vocab_size);
  std::vector<bool> seen(vocab_size, false);
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && absl::StartsWith(line, "token_id\t"))) continue;
    const std::string where = absl::StrCat(source, ":", line_no);
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    int64_t id = -1;
    int64_t count = 0;
    if (f.size() != 4 || !absl::SimpleAtoi(f[0], &id) || !absl::SimpleAtoi(f[3], &count)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected \"token_id<TAB>token<TAB>category<TAB>count\""));
    }
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": token id ", id, " outside [0, ", vocab_size, ")"));
    }
    if (seen[id]) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": token id ", id, " listed twice"));
    }
    seen[id] = true;
    int32_t label = kLabelNone;
    if (f[2] == kLabelMixedName) {
      label = kLabelMixed;
    } else if (f[2] != kLabelNoneName) {
      absl::StatusOr<int32_t> added = tc.labels.Add(f[2]);
      if (!added.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": ", added.status().message()));
      }
      label = *added;
    }
    tc.label_by_id[id] = label;
    tc.count_by_id[id] = label == kLabelNone ? 0 : count;
  }
  return tc;
}

}  // namespace monoroute
