// GPT-2 pre-tokenisation over code points; see pretokenizer.h for the regex it implements.
#include "common/tokenizer/pretokenizer.h"

#include <vector>

#include "common/tokenizer/gpt2_tokenizer.h"
#include "common/tokenizer/utf8_util.h"

namespace monoroute {
namespace {

using utf8::CharClass;

// Class and byte length of the code point at s[i]; an invalid byte has length 1.
inline CharClass ClassAt(absl::string_view s, size_t i, size_t* len) {
  const unsigned char b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    *len = 1;
    return utf8::Classify(b);
  }
  char32_t cp;
  size_t n = utf8::DecodeAt(s, i, &cp);
  if (n == 0) {
    *len = 1;
    return CharClass::kInvalid;
  }
  *len = n;
  return utf8::Classify(cp);
}

// End of the run of code points of class `c` starting at `i`.
inline size_t RunEnd(absl::string_view s, size_t i, CharClass c) {
  while (i < s.size()) {
    size_t len;
    if (ClassAt(s, i, &len) != c) break;
    i += len;
  }
  return i;
}

}  // namespace

size_t NextPieceEnd(absl::string_view s, size_t i) {
  const size_t n = s.size();
  // 's|'t|'re|'ve|'m|'ll|'d
  if (s[i] == '\'' && i + 1 < n) {
    const char a = s[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (i + 2 < n) {
      const char b = s[i + 2];
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
        return i + 3;
      }
    }
  }
  size_t len;
  CharClass c = ClassAt(s, i, &len);
  if (c == CharClass::kInvalid) return i + 1;
  // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`: an ASCII space may lead a non-space run.
  size_t start = i;
  if (s[i] == ' ' && i + 1 < n) {
    size_t len2;
    CharClass next = ClassAt(s, i + 1, &len2);
    if (next == CharClass::kLetter || next == CharClass::kNumber || next == CharClass::kOther) {
      c = next;
      start = i + 1;
    }
  }
  if (c != CharClass::kSpace) return RunEnd(s, start, c);
  // `\s+(?!\S)|\s+`: a whitespace run, minus its last code point if a non-space follows and the
  // run has more than one code point.
  size_t last = i;
  size_t j = i;
  while (j < n) {
    size_t l;
    if (ClassAt(s, j, &l) != CharClass::kSpace) break;
    last = j;
    j += l;
  }
  if (j == n || last == i) return j;
  return last;
}

std::vector<absl::string_view> Gpt2PreTokenize(absl::string_view text) {
  std::vector<absl::string_view> pieces;
  size_t i = 0;
  while (i < text.size()) {
    size_t e = NextPieceEnd(text, i);
    pieces.push_back(text.substr(i, e - i));
    i = e;
  }
  return pieces;
}

}  // namespace monoroute
