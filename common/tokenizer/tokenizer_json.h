// Reading a Hugging Face `tokenizers` tokenizer.json of the byte-level BPE kind (GPT-2, GPT-NeoX /
// Pythia): the pipeline options, the added tokens, the model's vocabulary and merges. Everything
// this library cannot reproduce exactly is refused with INVALID_ARGUMENT naming its JSON path,
// e.g. `tokenizer.json: pre_tokenizer.type: "Metaspace" is not supported (supported: ByteLevel)`.
#ifndef MONOROUTE_COMMON_TOKENIZER_TOKENIZER_JSON_H_
#define MONOROUTE_COMMON_TOKENIZER_TOKENIZER_JSON_H_

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tokenizer/added_tokens.h"

namespace monoroute {

// The steps around BPE that a byte-level tokenizer.json configures.
struct BpePipelineOptions {
  // normalizer: NFC (alone or in a Sequence); false: no normalizer.
  bool nfc = false;
  // ByteLevel pre-tokenizer `add_prefix_space`: a space is put before every text piece (between
  // added tokens) that does not start with one.
  bool add_prefix_space = false;
  // ByteLevel `use_regex`: split with GPT-2's regex; false: each text piece is one BPE word.
  bool use_regex = true;
  // BPE `ignore_merges`: a pre-token found whole in the vocabulary is emitted without merging.
  bool ignore_merges = false;
};

// A parsed tokenizer.json (only what the encoder needs; offsets options are validated, not kept).
struct TokenizerJson {
  // Pipeline options.
  BpePipelineOptions pipeline;
  // `added_tokens`, in file order.
  std::vector<AddedToken> added_tokens;
  // `model.vocab`: token (byte-to-unicode form) -> id, as a JSON object.
  nlohmann::json vocab;
  // `model.merges` in rank order, each as its (left, right) tokens.
  std::vector<std::pair<std::string, std::string>> merges;
};

// Parses `text` (the content of the file at `path`, used in messages). INVALID_ARGUMENT naming
// `path` and the JSON path for malformed JSON, a wrong type, or an unsupported component or
// option (normalizer other than NFC / Sequence of NFC; pre-tokenizer other than ByteLevel or a
// Sequence holding one ByteLevel; decoder other than ByteLevel; post-processor other than
// ByteLevel; model other than BPE, BPE dropout, continuing_subword_prefix, end_of_word_suffix;
// truncation or padding set).
absl::StatusOr<TokenizerJson> ParseTokenizerJson(absl::string_view text, const std::string& path);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TOKENIZER_TOKENIZER_JSON_H_
