// NFC over the well-formed UTF-8 runs of a byte string (utf8proc_map with COMPOSE | STABLE).
#include "common/tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>

#include "common/tokenizer/utf8_util.h"

namespace monoroute {
namespace {

// Appends NFC(run) for a well-formed UTF-8 run.
void AppendNfc(absl::string_view run, std::string* out) {
  utf8proc_uint8_t* dst = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(run.data()),
                   static_cast<utf8proc_ssize_t>(run.size()), &dst,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) {  // cannot happen for well-formed input; keep the bytes rather than lose them
    out->append(run.data(), run.size());
  } else {
    out->append(reinterpret_cast<const char*>(dst), static_cast<size_t>(n));
  }
  std::free(dst);
}

}  // namespace

std::string NfcNormalize(absl::string_view text) {
  bool ascii = true;
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t run_begin = 0;
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp;
    const size_t len = utf8::DecodeAt(text, i, &cp);
    if (len > 0) {
      i += len;
      continue;
    }
    if (i > run_begin) AppendNfc(text.substr(run_begin, i - run_begin), &out);
    out.push_back(text[i]);
    run_begin = ++i;
  }
  if (i > run_begin) AppendNfc(text.substr(run_begin, i - run_begin), &out);
  return out;
}

}  // namespace monoroute
