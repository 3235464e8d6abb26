// GPT-2 pre-tokenisation, implemented by hand over code points (std::regex has no \p{L}):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// A byte that does not start well-formed UTF-8 is a piece of its own (see gpt2_tokenizer.h).
#ifndef MONOROUTE_COMMON_TOKENIZER_PRETOKENIZER_H_
#define MONOROUTE_COMMON_TOKENIZER_PRETOKENIZER_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace monoroute {

// End offset of the pre-token piece that starts at `begin` (< text.size()). Pure function,
// thread-safe.
size_t NextPieceEnd(absl::string_view text, size_t begin);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TOKENIZER_PRETOKENIZER_H_
