// Reading training text into documents: plain text (stories separated by `<|endoftext|>` lines,
// or paragraphs of running text at blank lines when the file has none) and JSONL with a `text`
// field. Torch-free.
#ifndef MONOROUTE_COMMON_ENGINE_TEXT_DOCUMENTS_H_
#define MONOROUTE_COMMON_ENGINE_TEXT_DOCUMENTS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace monoroute::engine {

// Layout of a text file.
enum class TextFormat {
  kText,   // plain text
  kJsonl,  // one JSON object per line with a string field "text"
};

// "text" | "jsonl".
const char* TextFormatName(TextFormat f);

// Resolves "auto" (by extension: .jsonl / .json -> jsonl, else text), "text" or "jsonl".
// INVALID_ARGUMENT for anything else.
absl::StatusOr<TextFormat> ResolveTextFormat(const std::string& format, const std::string& path);

// Splits plain text into documents: at lines that are exactly "<|endoftext|>" (surrounding
// whitespace ignored) when there is one, else at blank lines. Documents are trimmed of leading and
// trailing whitespace; empty ones are dropped. Returned views point into `text`.
std::vector<absl::string_view> SplitTextDocuments(absl::string_view text);

// Parses JSONL: every non-blank line must be an object with a string "text" (empty texts are
// dropped). INVALID_ARGUMENT naming `source`:line otherwise.
absl::StatusOr<std::vector<std::string>> ParseJsonlDocuments(absl::string_view text,
                                                             const std::string& source);

// True when some line of `text` is exactly "<|endoftext|>" (surrounding whitespace ignored).
bool HasEndOfTextLines(absl::string_view text);

// The documents of a file and how they are joined in the token stream.
struct DocumentSet {
  std::vector<std::string> docs;
  // True for plain text without `<|endoftext|>` lines (e.g. TinyStories' validation text, where
  // blank lines separate both stories and paragraphs): the pieces are paragraphs of running text,
  // split at blank lines only so they can be tokenised in parallel and held out, and the token
  // stream joins them with the blank line itself, as tokenising the raw file would, instead of
  // an end-of-text token. False: stories (or JSONL records), each followed by end-of-text.
  bool paragraphs = false;
};

// Reads `path` in `format` into documents. NOT_FOUND naming the path if absent.
absl::StatusOr<DocumentSet> ReadDocuments(const std::string& path, TextFormat format);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_TEXT_DOCUMENTS_H_
