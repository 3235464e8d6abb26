// AddedTokenMatcher: leftmost-longest matching by first byte, then HF's single_word / lstrip /
// rstrip adjustments of each match.
#include "common/tokenizer/added_tokens.h"

#include <algorithm>
#include <utility>

#include "common/tokenizer/utf8_util.h"

namespace monoroute {
namespace {

// The code point that ends at `end` (> 0) of `s`, or -1 if it is not well-formed.
int64_t CodePointBefore(absl::string_view s, size_t end) {
  const size_t k = utf8::PrevCodePointStart(s, 0, end);
  char32_t cp;
  return utf8::DecodeAt(s, k, &cp) == end - k ? static_cast<int64_t>(cp) : -1;
}

// The code point that starts at `begin` (< s.size()), or -1 if it is not well-formed.
int64_t CodePointAt(absl::string_view s, size_t begin) {
  char32_t cp;
  return utf8::DecodeAt(s, begin, &cp) > 0 ? static_cast<int64_t>(cp) : -1;
}

// Start of the whitespace run that ends at `end`, not before `floor` (regex `\s*$`).
size_t WhitespaceRunStart(absl::string_view s, size_t floor, size_t end) {
  while (end > floor) {
    const size_t k = utf8::PrevCodePointStart(s, floor, end);
    char32_t cp;
    if (utf8::DecodeAt(s, k, &cp) != end - k || !utf8::IsWhiteSpace(cp)) break;
    end = k;
  }
  return end;
}

// End of the whitespace run that starts at `begin` (regex `^\s*`).
size_t WhitespaceRunEnd(absl::string_view s, size_t begin) {
  while (begin < s.size()) {
    char32_t cp;
    const size_t len = utf8::DecodeAt(s, begin, &cp);
    if (len == 0 || !utf8::IsWhiteSpace(cp)) break;
    begin += len;
  }
  return begin;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens,
                                     std::vector<std::string> patterns)
    : tokens_(std::move(tokens)), patterns_(std::move(patterns)) {
  for (size_t i = 0; i < patterns_.size(); ++i) {
    if (patterns_[i].empty()) continue;
    by_first_byte_[static_cast<unsigned char>(patterns_[i][0])].push_back(static_cast<int>(i));
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(),
                     [&](int a, int b) { return patterns_[a].size() > patterns_[b].size(); });
  }
}

int AddedTokenMatcher::LongestAt(absl::string_view text, size_t i) const {
  for (int p : by_first_byte_[static_cast<unsigned char>(text[i])]) {
    const std::string& pat = patterns_[p];
    if (text.size() - i >= pat.size() && text.compare(i, pat.size(), pat) == 0) return p;
  }
  return -1;
}

void AddedTokenMatcher::Split(absl::string_view text, std::vector<AddedTokenSplit>* out) const {
  size_t start_offset = 0;  // end of the previous accepted match (HF `start_offset`)
  size_t i = 0;             // where the next raw match is searched from
  while (i < text.size()) {
    const int p = LongestAt(text, i);
    if (p < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = tokens_[p];
    size_t start = i;
    size_t stop = i + patterns_[p].size();
    i = stop;  // raw matches never overlap, whatever is decided below
    if (tok.single_word) {
      const bool start_space =
          start == 0 || !utf8::IsWordChar(static_cast<char32_t>(
                            std::max<int64_t>(0, CodePointBefore(text, start))));
      const bool stop_space =
          stop == text.size() ||
          !utf8::IsWordChar(static_cast<char32_t>(std::max<int64_t>(0, CodePointAt(text, stop))));
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) start = std::max(WhitespaceRunStart(text, start_offset, start), start_offset);
    if (tok.rstrip) stop = WhitespaceRunEnd(text, stop);
    if (start_offset < start) out->push_back({-1, text.substr(start_offset, start - start_offset)});
    out->push_back({tok.id, {}});
    start_offset = stop;
  }
  if (start_offset < text.size()) out->push_back({-1, text.substr(start_offset)});
}

}  // namespace monoroute
