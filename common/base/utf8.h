// UTF-8 validation of text that arrives as bytes (gRPC `bytes` fields, files), so that a bad byte
// is an INVALID_ARGUMENT naming the field and offset rather than a transport failure.
#ifndef MONOROUTE_COMMON_BASE_UTF8_H_
#define MONOROUTE_COMMON_BASE_UTF8_H_

#include <cstddef>
#include <optional>

#include "absl/strings/string_view.h"

namespace monoroute {

// Offset of the first byte of `text` that does not start a well-formed UTF-8 sequence (overlong
// forms, surrogates and code points above U+10FFFF are malformed); nullopt when all of it is
// well-formed. Thread-safe (pure).
std::optional<size_t> FirstInvalidUtf8(absl::string_view text);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_UTF8_H_
