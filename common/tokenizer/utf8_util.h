// UTF-8 decoding and the code point classes that GPT-2's pre-tokenisation regex needs.
#ifndef MONOROUTE_COMMON_TOKENIZER_UTF8_UTIL_H_
#define MONOROUTE_COMMON_TOKENIZER_UTF8_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace monoroute::utf8 {

// Class of one code point as GPT-2's regex sees it.
enum class CharClass : uint8_t {
  kLetter,   // \p{L}: Lu Ll Lt Lm Lo
  kNumber,   // \p{N}: Nd Nl No
  kSpace,    // \s: Unicode White_Space
  kOther,    // anything else that is valid UTF-8
  kInvalid,  // a byte that does not start a well-formed UTF-8 sequence
};

// Decodes the well-formed UTF-8 sequence starting at s[i] (Unicode Table 3-7). Returns its
// length (1..4) and sets *cp; returns 0 if s[i] does not start one (then *cp is the byte).
size_t DecodeAt(absl::string_view s, size_t i, char32_t* cp);

// Class of a valid code point. Thread-safe (utf8proc tables are static).
CharClass Classify(char32_t cp);

// True if `cp` is Unicode White_Space (what \s matches in HF tokenizers / tiktoken).
bool IsWhiteSpace(char32_t cp);

// True if `cp` is a word character as Rust regex's Unicode `\w` sees it (what HF `tokenizers`
// uses for added tokens' `single_word`): letters, marks, decimal and letter numbers, connector
// punctuation, ZWNJ/ZWJ, and the circled/squared Latin letters (Other_Alphabetic symbols).
bool IsWordChar(char32_t cp);

// Start of the last code point that begins at or after `floor` and ends at `end` (end > floor):
// end - 1 for ASCII or an invalid byte, else the first byte of the well-formed sequence.
size_t PrevCodePointStart(absl::string_view s, size_t floor, size_t end);

// Appends the UTF-8 encoding of a valid code point.
void AppendUtf8(char32_t cp, std::string* out);

// Renders bytes printably: valid UTF-8 kept, \n \t \r \\ escaped, other C0 controls, DEL and
// every byte of an ill-formed sequence as \xNN.
std::string RenderBytes(absl::string_view bytes);

}  // namespace monoroute::utf8

#endif  // MONOROUTE_COMMON_TOKENIZER_UTF8_UTIL_H_
