// Byte-level BPE encoding (added tokens, NFC, pre-tokenisation, cached merges), parallel encode
// and decode. Loading is in tokenizer_loader.cc.
#include "common/tokenizer/gpt2_tokenizer.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/normalizer.h"
#include "common/tokenizer/pretokenizer.h"
#include "common/tokenizer/tokenizer_impl.h"
#include "common/tokenizer/utf8_util.h"

namespace monoroute {
namespace {

// Appends the ids of `tokens`' added tokens found in `text`, and encodes the text between them
// (all of `text` when there are none) with `rest`.
template <class F>
void EncodeAround(const AddedTokenMatcher& tokens, absl::string_view text,
                  std::vector<int32_t>* out, const F& rest) {
  if (tokens.empty()) {
    rest(text);
    return;
  }
  std::vector<AddedTokenSplit> splits;
  tokens.Split(text, &splits);
  for (const AddedTokenSplit& s : splits) {
    if (s.id >= 0) {
      out->push_back(s.id);
    } else {
      rest(s.text);
    }
  }
}

}  // namespace

void Gpt2Tokenizer::Impl::EncodePiece(absl::string_view piece, std::vector<int32_t>* out) const {
  if (piece.size() == 1) {
    out->push_back(byte_id[static_cast<unsigned char>(piece[0])]);
    return;
  }
  if (pipeline.ignore_merges) {
    auto it = bytes_to_model_id.find(piece);
    if (it != bytes_to_model_id.end()) {
      out->push_back(it->second);
      return;
    }
  }
  TokenizerCacheShard* shard = nullptr;
  if (shard_capacity > 0) {
    shard = &cache[absl::Hash<absl::string_view>()(piece) % kTokenizerCacheShards];
    std::lock_guard<std::mutex> lock(shard->mu);
    auto it = shard->map.find(piece);
    if (it != shard->map.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> sym(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) sym[i] = byte_id[static_cast<unsigned char>(piece[i])];
  merges.Merge(&sym);
  out->insert(out->end(), sym.begin(), sym.end());
  if (shard != nullptr && piece.size() <= 256) {
    std::lock_guard<std::mutex> lock(shard->mu);
    if (shard->map.size() >= shard_capacity) shard->map.clear();
    shard->map.emplace(std::string(piece), std::move(sym));
  }
}

void Gpt2Tokenizer::Impl::EncodeWords(absl::string_view text, std::vector<int32_t>* out) const {
  std::string prefixed;
  if (pipeline.add_prefix_space && text[0] != ' ') {
    prefixed = absl::StrCat(" ", text);
    text = prefixed;
  }
  if (!pipeline.use_regex) {
    EncodePiece(text, out);
    return;
  }
  size_t i = 0;
  while (i < text.size()) {
    size_t e = NextPieceEnd(text, i);
    EncodePiece(text.substr(i, e - i), out);
    i = e;
  }
}

void Gpt2Tokenizer::Impl::EncodeNormalized(absl::string_view text,
                                           std::vector<int32_t>* out) const {
  std::string normalized;
  if (pipeline.nfc) {
    normalized = NfcNormalize(text);
    text = normalized;
  }
  EncodeAround(normalized_tokens, text, out, [&](absl::string_view t) { EncodeWords(t, out); });
}

void Gpt2Tokenizer::Impl::EncodeText(absl::string_view text, std::vector<int32_t>* out) const {
  if (text.empty()) return;
  EncodeAround(raw_tokens, text, out, [&](absl::string_view t) { EncodeNormalized(t, out); });
}

Gpt2Tokenizer::Gpt2Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gpt2Tokenizer::~Gpt2Tokenizer() = default;

void Gpt2Tokenizer::EncodeAppend(absl::string_view text, std::vector<int32_t>* out) const {
  impl_->EncodeText(text, out);
}

std::vector<int32_t> Gpt2Tokenizer::Encode(absl::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  EncodeAppend(text, &ids);
  return ids;
}

std::vector<int32_t> Gpt2Tokenizer::EncodeParallel(absl::string_view text, int num_threads) const {
  if (num_threads <= 0)
    num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const size_t min_chunk = 64 * 1024;
  if (num_threads == 1 || text.size() < 2 * min_chunk || !impl_->parallel_safe) {
    return Encode(text);
  }
  // Cut before a '\n' whose preceding byte is ASCII non-whitespace: every pre-token piece ends
  // before whitespace that follows a non-space, so pieces never straddle such a cut; added tokens
  // (none contains '\n' or has rstrip when parallel_safe) and NFC (neither character composes)
  // do not either.
  const size_t target = std::max(min_chunk, text.size() / (4 * static_cast<size_t>(num_threads)));
  std::vector<size_t> cuts = {0};
  size_t pos = target;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    while (nl != absl::string_view::npos) {
      const unsigned char p = static_cast<unsigned char>(text[nl - 1]);
      if (p < 0x80 && !utf8::IsWhiteSpace(p)) break;
      nl = text.find('\n', nl + 1);
    }
    if (nl == absl::string_view::npos) break;
    cuts.push_back(nl);
    pos = nl + target;
  }
  cuts.push_back(text.size());
  const size_t chunks = cuts.size() - 1;
  std::vector<std::vector<int32_t>> parts(chunks);
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (size_t c = next++; c < chunks; c = next++) {
      parts[c].reserve((cuts[c + 1] - cuts[c]) / 3 + 1);
      EncodeAppend(text.substr(cuts[c], cuts[c + 1] - cuts[c]), &parts[c]);
    }
  };
  std::vector<std::thread> threads;
  const int spawn = static_cast<int>(std::min<size_t>(num_threads, chunks));
  for (int t = 1; t < spawn; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  std::vector<int32_t> ids;
  ids.reserve(total);
  for (const auto& p : parts) ids.insert(ids.end(), p.begin(), p.end());
  return ids;
}

absl::StatusOr<std::string> Gpt2Tokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size()) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", ids[i], " at position ", i,
                                                     " is outside [0, ", vocab_size(), ")"));
    }
    out += impl_->token_bytes[ids[i]];
  }
  return out;
}

absl::string_view Gpt2Tokenizer::DecodeToken(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return impl_->token_bytes[id];
}

std::string Gpt2Tokenizer::RenderToken(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return absl::StrCat("<invalid id ", id, ">");
  return utf8::RenderBytes(impl_->token_bytes[id]);
}

absl::string_view Gpt2Tokenizer::IdToToken(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return impl_->token_text[id];
}

int32_t Gpt2Tokenizer::TokenToId(absl::string_view token) const {
  auto it = impl_->text_to_id.find(token);
  return it == impl_->text_to_id.end() ? -1 : it->second;
}

int32_t Gpt2Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->token_text.size()); }

int32_t Gpt2Tokenizer::eot_id() const { return impl_->eot; }

}  // namespace monoroute
