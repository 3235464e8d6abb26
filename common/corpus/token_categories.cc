// TokenCategories: per-category counts and the TSV file format.
#include "common/corpus/token_categories.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/file_util.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute {

std::array<int64_t, kNumWordCategories + 2> TokenCategories::CountIdsPerCategory() const {
  std::array<int64_t, kNumWordCategories + 2> n{};
  for (Category c : category_by_id) ++n[static_cast<size_t>(c)];
  return n;
}

absl::Status TokenCategories::WriteTsv(const std::string& path,
                                       const Gpt2Tokenizer& tokenizer) const {
  std::string out = "token_id\ttoken\tcategory\tcount\n";
  for (size_t id = 0; id < category_by_id.size(); ++id) {
    if (category_by_id[id] == Category::kNone) continue;
    absl::StrAppend(&out, id, "\t", tokenizer.RenderToken(static_cast<int32_t>(id)), "\t",
                    CategoryName(category_by_id[id]), "\t",
                    id < count_by_id.size() ? count_by_id[id] : 0, "\n");
  }
  return WriteFileAtomic(path, out);
}

absl::StatusOr<TokenCategories> TokenCategories::ReadTsv(const std::string& path,
                                                         int32_t vocab_size) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  TokenCategories tc;
  tc.category_by_id.assign(vocab_size, Category::kNone);
  tc.count_by_id.assign(vocab_size, 0);
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_no;
    if (line.empty() || (line_no == 1 && absl::StartsWith(line, "token_id\t"))) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    int64_t id = -1;
    int64_t count = 0;
    if (f.size() != 4 || !absl::SimpleAtoi(f[0], &id) || !absl::SimpleAtoi(f[3], &count)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", line_no, ": expected \"token_id<TAB>token<TAB>category<TAB>count\""));
    }
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": token id ", id, " outside [0, ", vocab_size, ")"));
    }
    std::optional<Category> c = ParseCategory(f[2]);
    if (!c.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": unknown category \"", f[2], "\""));
    }
    tc.category_by_id[id] = *c;
    tc.count_by_id[id] = count;
  }
  return tc;
}

}  // namespace monoroute
