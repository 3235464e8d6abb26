// Token labelling of generated text from the generator's word spans.
#include "common/corpus/token_labels.h"

#include <array>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute {

absl::StatusOr<LabeledTokens> LabelTokens(absl::string_view text, const StoryTrace& trace,
                                          const Gpt2Tokenizer& tokenizer, int num_threads) {
  const auto& words = trace.words;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i].begin >= words[i].end || words[i].end > text.size() ||
        (i > 0 && words[i].begin < words[i - 1].end)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "story trace word ", i, " [", words[i].begin, ", ", words[i].end,
          ") is empty, out of the text (", text.size(), " bytes) or overlaps the previous one"));
    }
  }
  LabeledTokens out;
  out.ids = tokenizer.EncodeParallel(text, num_threads);
  out.categories.resize(out.ids.size(), Category::kNone);
  size_t pos = 0;
  size_t w = 0;
  for (size_t t = 0; t < out.ids.size(); ++t) {
    const absl::string_view bytes = tokenizer.DecodeToken(out.ids[t]);
    const size_t begin = pos;
    pos += bytes.size();
    if (out.ids[t] == tokenizer.eot_id()) continue;
    size_t k = 0;
    while (k < bytes.size() &&
           (bytes[k] == ' ' || bytes[k] == '\n' || bytes[k] == '\t' || bytes[k] == '\r')) {
      ++k;
    }
    if (k == bytes.size()) continue;
    const size_t at = begin + k;
    while (w < words.size() && words[w].end <= at) ++w;
    if (w < words.size() && words[w].begin <= at) out.categories[t] = words[w].category;
  }
  if (pos != text.size()) {
    return absl::InternalError(
        absl::StrCat("tokens cover ", pos, " bytes of a ", text.size(), "-byte text"));
  }
  return out;
}

TokenCategories MajorityCategories(const LabeledTokens& labeled, int32_t vocab_size) {
  absl::flat_hash_map<int32_t, std::array<int64_t, kNumWordCategories>> counts;
  for (size_t i = 0; i < labeled.ids.size(); ++i) {
    const Category c = labeled.categories[i];
    if (static_cast<int>(c) >= kNumWordCategories) continue;
    ++counts[labeled.ids[i]][static_cast<int>(c)];
  }
  TokenCategories tc;
  tc.category_by_id.assign(vocab_size, Category::kNone);
  tc.count_by_id.assign(vocab_size, 0);
  for (const auto& [id, cc] : counts) {
    if (id < 0 || id >= vocab_size) continue;
    int64_t total = 0;
    int best = 0;
    for (int c = 0; c < kNumWordCategories; ++c) {
      total += cc[c];
      if (cc[c] > cc[best]) best = c;
    }
    tc.category_by_id[id] = 2 * cc[best] > total ? static_cast<Category>(best) : Category::kMixed;
    tc.count_by_id[id] = total;
  }
  return tc;
}

}  // namespace monoroute
