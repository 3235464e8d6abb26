// Token labelling of generated text from the generator's word spans.
#include "common/corpus/token_labels.h"

#include <algorithm>
#include <utility>
#include <vector>

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
  out.labels = StoryLabelSet();
  out.token_labels.resize(out.ids.size(), kLabelNone);
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
    if (w < words.size() && words[w].begin <= at) {
      out.token_labels[t] = StoryLabel(words[w].category);
    }
  }
  if (pos != text.size()) {
    return absl::InternalError(
        absl::StrCat("tokens cover ", pos, " bytes of a ", text.size(), "-byte text"));
  }
  return out;
}

TokenCategories MajorityCategories(const LabeledTokens& labeled, int32_t vocab_size) {
  // Per id: (label, occurrences) pairs; an id rarely has more than a few labels.
  absl::flat_hash_map<int32_t, std::vector<std::pair<int32_t, int64_t>>> counts;
  const size_t n = std::min(labeled.ids.size(), labeled.token_labels.size());
  for (size_t i = 0; i < n; ++i) {
    const int32_t label = labeled.token_labels[i];
    const int32_t id = labeled.ids[i];
    if (!labeled.labels.Contains(label) || id < 0 || id >= vocab_size) continue;
    TallyLabel(&counts[id], label);
  }
  TokenCategories tc = TokenCategories::Empty(labeled.labels, vocab_size);
  for (const auto& [id, cc] : counts) {
    int64_t total = 0;
    std::pair<int32_t, int64_t> best = {kLabelNone, 0};
    for (const auto& p : cc) {
      total += p.second;
      if (p.second > best.second) best = p;
    }
    tc.label_by_id[id] = 2 * best.second > total ? best.first : kLabelMixed;
    tc.count_by_id[id] = total;
  }
  return tc;
}

}  // namespace monoroute
