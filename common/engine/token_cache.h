// Packed token cache of a training text: documents tokenised once (in parallel), stored as a
// packed token file (uint16 when the vocabulary fits, else uint32) plus document offsets, next to
// a manifest JSON (source size/mtime/sha256, tokenizer sha256, counts). Reused while the source
// and tokenizer are unchanged, rebuilt otherwise. Torch-free.
//
// Files in cache_dir, for stem = <source basename>-<12 hex of sha256(abs path, format)>:
//   <stem>.tokens.bin    tokens, little-endian uint16/uint32, each document followed by EOT, or
//                        (plain text without <|endoftext|> lines) each paragraph by the tokens
//                        of a blank line, so the stream is the raw text's
//   <stem>.docs.bin      uint64 token offsets of document starts, num_documents + 1 entries
//   <stem>.manifest.json {"version":2, "source": {...}, "tokenizer_sha256", "format",
//                         "joined_by" ("end_of_text" | "blank_line"), "token_bytes",
//                         "num_documents", "num_tokens", "eot_id", "vocab_size"}
#ifndef MONOROUTE_COMMON_ENGINE_TOKEN_CACHE_H_
#define MONOROUTE_COMMON_ENGINE_TOKEN_CACHE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/base/file_util.h"

namespace monoroute {
class Gpt2Tokenizer;
}

namespace monoroute::engine {

// What to tokenise and where to cache it.
struct TokenCacheOptions {
  // Source text file.
  std::string source_path;
  // "auto", "text" or "jsonl" (see text_documents.h).
  std::string format = "auto";
  // Tokenizer directory: tokenizer.json, else vocab.json + merges.txt (hashed into the manifest).
  std::string tokenizer_dir;
  // Cache directory (created if needed).
  std::string cache_dir;
  // Tokenisation threads; 0: hardware concurrency.
  int threads = 0;
  // Tokenizer to use when (re)building; null: created from tokenizer_dir on demand. Not owned.
  const Gpt2Tokenizer* tokenizer = nullptr;
};

// A loaded (memory-mapped) token cache. Immutable; thread-safe for reads.
class TokenCache {
 public:
  // Opens the cache of options.source_path, building (or rebuilding) it when missing or stale.
  // Errors name the source, cache or tokenizer file at fault.
  static absl::StatusOr<std::unique_ptr<TokenCache>> Open(const TokenCacheOptions& options);

  int64_t num_documents() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  int64_t num_tokens() const {
    return offsets_.empty() ? 0 : static_cast<int64_t>(offsets_.back());
  }
  // Token i of the packed stream.
  int32_t token(int64_t i) const;
  // [begin, end) token range of document d (its trailing EOT included).
  int64_t doc_begin(int64_t d) const { return static_cast<int64_t>(offsets_[d]); }
  int64_t doc_end(int64_t d) const { return static_cast<int64_t>(offsets_[d + 1]); }
  // Appends the tokens of document d to *out.
  void AppendDocument(int64_t d, std::vector<int32_t>* out) const;
  // True when this Open() tokenised the source (false: reused the cache).
  bool rebuilt() const { return rebuilt_; }
  // Paths of the cache files.
  const std::string& manifest_path() const { return manifest_path_; }
  const std::string& tokens_path() const { return tokens_path_; }
  // sha256 of the source bytes (as recorded in the manifest).
  const std::string& source_sha256() const { return source_sha256_; }
  int32_t eot_id() const { return eot_id_; }

 private:
  TokenCache() = default;
  MappedFile tokens_;
  std::vector<uint64_t> offsets_;
  int token_bytes_ = 2;
  bool rebuilt_ = false;
  int32_t eot_id_ = 50256;
  std::string manifest_path_, tokens_path_, source_sha256_;
};

// sha256 over a tokenizer directory's files (tokenizer.json, vocab.json, merges.txt: those
// present; common/tokenizer TokenizerFiles), what the manifest records.
absl::StatusOr<std::string> TokenizerSha256(const std::string& tokenizer_dir);

// Tokens that join two paragraphs of running text: those of the blank line between two words,
// as the raw text tokenises ("a\n\nb" -> a, "\n", "\n", b with GPT-2).
std::vector<int32_t> BlankLineTokens(const Gpt2Tokenizer& tok);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_TOKEN_CACHE_H_
