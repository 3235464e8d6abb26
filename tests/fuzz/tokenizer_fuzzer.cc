// libFuzzer target: loading a GPT-2 tokenizer from vocab.json + merges.txt
// (common/tokenizer Gpt2Tokenizer::CreateFromText). The input is the vocab.json text, a NUL
// byte, then the merges.txt text. Properties: no crash, hang or sanitizer report; a tokenizer
// that loads encodes sample texts and its own input to in-range ids that decode back to the
// exact bytes, and its single-byte tokens cover every byte.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/tokenizer/gpt2_tokenizer.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void CheckRoundTrip(const monoroute::Gpt2Tokenizer& tok, absl::string_view text) {
  const std::vector<int32_t> ids = tok.Encode(text);
  for (int32_t id : ids) {
    FUZZ_CHECK(id >= 0 && id < tok.vocab_size(), "id %d outside [0, %d)", id, tok.vocab_size());
  }
  auto back = tok.Decode(ids);
  FUZZ_CHECK(back.ok() && *back == text, "Decode(Encode(x)) != x for a %zu-byte text", text.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const absl::string_view vocab = input.substr(0, nul);
  const absl::string_view merges =
      nul == absl::string_view::npos ? absl::string_view() : input.substr(nul + 1);
  auto tok = monoroute::Gpt2Tokenizer::CreateFromText(vocab, merges, "fuzz/vocab.json",
                                                      "fuzz/merges.txt", /*cache_capacity=*/64);
  if (!tok.ok()) return 0;
  CheckRoundTrip(**tok, "Once upon a time, there was a little dog.<|endoftext|> He's 3 ok\n\n");
  CheckRoundTrip(**tok, "caf\xc3\xa9 \xe2\x82 \xf0\x9f\x98\x80 \xff \xc0\xaf");
  CheckRoundTrip(**tok, merges.substr(0, 4096));
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    FUZZ_CHECK(!(*tok)->Encode(absl::string_view(&c, 1)).empty(), "byte %d encodes to nothing", b);
  }
  return 0;
}
