// Bounded quoting of caller-provided text (ids, names, paths) in error messages, so a huge id
// never makes an error message huge (a gRPC status message travels in metadata, which clients
// cap at 8 KiB by default: an unbounded echo turns INVALID_ARGUMENT into RESOURCE_EXHAUSTED).
#ifndef MONOROUTE_COMMON_BASE_BOUNDED_TEXT_H_
#define MONOROUTE_COMMON_BASE_BOUNDED_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace monoroute {

// Default bound of BoundedText, in bytes of the input kept.
inline constexpr size_t kDefaultBoundedTextBytes = 64;

// `text` for an error message: at most `max_bytes` bytes of it (cut before a UTF-8 continuation
// byte, never inside a character), followed by "...(N bytes)" with N the full size when it was
// cut. Control bytes (< 0x20, 0x7f) are written as \xNN so the message stays one printable line.
// Thread-safe (pure).
std::string BoundedText(absl::string_view text, size_t max_bytes = kDefaultBoundedTextBytes);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_BOUNDED_TEXT_H_
