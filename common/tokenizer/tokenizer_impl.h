// Private to common/tokenizer: the state of a Gpt2Tokenizer and its encoding pipeline, shared by
// the loader (tokenizer_loader.cc) and the public methods (gpt2_tokenizer.cc).
#ifndef MONOROUTE_COMMON_TOKENIZER_TOKENIZER_IMPL_H_
#define MONOROUTE_COMMON_TOKENIZER_TOKENIZER_IMPL_H_

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "common/tokenizer/added_tokens.h"
#include "common/tokenizer/bpe.h"
#include "common/tokenizer/gpt2_tokenizer.h"
#include "common/tokenizer/tokenizer_json.h"

namespace monoroute {

// Shards of the piece -> ids cache.
inline constexpr int kTokenizerCacheShards = 64;

// One shard of the piece -> ids cache.
struct TokenizerCacheShard {
  std::mutex mu;
  absl::flat_hash_map<std::string, std::vector<int32_t>> map;
};

struct Gpt2Tokenizer::Impl {
  std::vector<std::string> token_text;  // id -> vocab entry (byte-to-unicode form) or added content
  std::vector<std::string> token_bytes;  // id -> the bytes it decodes to
  absl::flat_hash_map<std::string, int32_t> text_to_id;
  // Raw bytes -> id of the model's vocabulary entries (filled only with ignore_merges).
  absl::flat_hash_map<std::string, int32_t> bytes_to_model_id;
  std::array<int32_t, 256> byte_id{};  // byte -> id of its single-byte token
  BpeMerges merges;
  BpePipelineOptions pipeline;
  AddedTokenMatcher raw_tokens;         // added tokens matched before normalisation
  AddedTokenMatcher normalized_tokens;  // added tokens matched on the normalised text
  int32_t eot = -1;
  // EncodeParallel may cut at "<non-space>\n" (see gpt2_tokenizer.cc).
  bool parallel_safe = true;
  size_t shard_capacity = 0;
  mutable std::array<TokenizerCacheShard, kTokenizerCacheShards> cache;

  // Appends the ids of `text`: added tokens, normalisation, pre-tokenisation, BPE.
  void EncodeText(absl::string_view text, std::vector<int32_t>* out) const;
  // Appends the ids of a piece left by the raw added tokens: normalise, then normalised tokens.
  void EncodeNormalized(absl::string_view text, std::vector<int32_t>* out) const;
  // Appends the ids of a non-empty piece with no added token: prefix space, regex, BPE.
  void EncodeWords(absl::string_view text, std::vector<int32_t>* out) const;
  // Appends the ids of one pre-token piece (cached BPE).
  void EncodePiece(absl::string_view piece, std::vector<int32_t>* out) const;
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TOKENIZER_TOKENIZER_IMPL_H_
