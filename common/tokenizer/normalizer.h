// Text normalisation of a tokenizer.json pipeline: Unicode NFC (HF `normalizers.NFC`), applied
// before pre-tokenisation and to the content of `normalized` added tokens.
#ifndef MONOROUTE_COMMON_TOKENIZER_NORMALIZER_H_
#define MONOROUTE_COMMON_TOKENIZER_NORMALIZER_H_

#include <string>

#include "absl/strings/string_view.h"

namespace monoroute {

// `text` in Unicode Normalization Form C (utf8proc, Unicode's composition with stable
// canonical order). Bytes that are not well-formed UTF-8 are kept as they are and split the text:
// each maximal valid run is normalised on its own. ASCII-only text is returned unchanged without
// work. Pure, thread-safe.
std::string NfcNormalize(absl::string_view text);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TOKENIZER_NORMALIZER_H_
