// GPT-2 byte-level BPE: loading vocab.json/merges.txt, encode (special tokens, pre-tokenisation,
// byte mapping, cached BPE), parallel encode and decode.
#include "common/tokenizer/gpt2_tokenizer.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/data_dirs.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/bpe.h"
#include "common/tokenizer/pretokenizer.h"
#include "common/tokenizer/utf8_util.h"

namespace monoroute {
namespace {

constexpr int kNumShards = 64;

// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the rest to U+0100.. in order.
std::array<char32_t, 256> ByteToUnicode() {
  std::array<char32_t, 256> table{};
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
  }
  return table;
}

// One shard of the piece -> ids cache.
struct CacheShard {
  std::mutex mu;
  absl::flat_hash_map<std::string, std::vector<int32_t>> map;
};

}  // namespace

struct Gpt2Tokenizer::Impl {
  std::vector<std::string> token_text;   // id -> vocab entry (byte-to-unicode form)
  std::vector<std::string> token_bytes;  // id -> raw bytes
  absl::flat_hash_map<std::string, int32_t> text_to_id;
  std::array<int32_t, 256> byte_id{};  // byte -> id of its single-byte token
  BpeMerges merges;
  int32_t eot = -1;
  size_t shard_capacity = 0;
  mutable std::array<CacheShard, kNumShards> cache;

  // Appends the ids of one pre-token piece.
  void EncodePiece(absl::string_view piece, std::vector<int32_t>* out) const {
    if (piece.size() == 1) {
      out->push_back(byte_id[static_cast<unsigned char>(piece[0])]);
      return;
    }
    CacheShard* shard = nullptr;
    if (shard_capacity > 0) {
      shard = &cache[absl::Hash<absl::string_view>()(piece) % kNumShards];
      std::lock_guard<std::mutex> lock(shard->mu);
      auto it = shard->map.find(piece);
      if (it != shard->map.end()) {
        out->insert(out->end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> sym(piece.size());
    for (size_t i = 0; i < piece.size(); ++i)
      sym[i] = byte_id[static_cast<unsigned char>(piece[i])];
    merges.Merge(&sym);
    out->insert(out->end(), sym.begin(), sym.end());
    if (shard != nullptr && piece.size() <= 256) {
      std::lock_guard<std::mutex> lock(shard->mu);
      if (shard->map.size() >= shard_capacity) shard->map.clear();
      shard->map.emplace(std::string(piece), std::move(sym));
    }
  }

  // Appends the ids of text without special tokens.
  void EncodeOrdinary(absl::string_view text, std::vector<int32_t>* out) const {
    size_t i = 0;
    while (i < text.size()) {
      size_t e = NextPieceEnd(text, i);
      EncodePiece(text.substr(i, e - i), out);
      i = e;
    }
  }
};

Gpt2Tokenizer::Gpt2Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gpt2Tokenizer::~Gpt2Tokenizer() = default;

absl::StatusOr<std::unique_ptr<Gpt2Tokenizer>> Gpt2Tokenizer::Create(
    const Gpt2TokenizerOptions& options) {
  const std::string dir = options.dir.empty() ? DataDirPath(DataResource::kGpt2) : options.dir;
  const std::string vocab_path =
      options.vocab_path.empty() ? absl::StrCat(dir, "/vocab.json") : options.vocab_path;
  const std::string merges_path =
      options.merges_path.empty() ? absl::StrCat(dir, "/merges.txt") : options.merges_path;

  absl::StatusOr<std::string> vocab_text = ReadFile(vocab_path);
  if (!vocab_text.ok()) {
    return absl::Status(vocab_text.status().code(),
                        absl::StrCat("tokenizer vocab file: ", vocab_text.status().message()));
  }
  absl::StatusOr<std::string> merges_text = ReadFile(merges_path);
  if (!merges_text.ok()) {
    return absl::Status(merges_text.status().code(),
                        absl::StrCat("tokenizer merges file: ", merges_text.status().message()));
  }
  return CreateFromText(*vocab_text, *merges_text, vocab_path, merges_path, options.cache_capacity);
}

absl::StatusOr<std::unique_ptr<Gpt2Tokenizer>> Gpt2Tokenizer::CreateFromText(
    absl::string_view vocab_json, absl::string_view merges_txt, const std::string& vocab_path,
    const std::string& merges_path, size_t cache_capacity) {
  auto impl = std::make_unique<Impl>();
  const std::array<char32_t, 256> b2u = ByteToUnicode();
  absl::flat_hash_map<char32_t, unsigned char> u2b;
  for (int b = 0; b < 256; ++b) u2b[b2u[b]] = static_cast<unsigned char>(b);

  // vocab.json: {"token": id, ...}, ids dense from 0.
  nlohmann::json vocab = nlohmann::json::parse(vocab_json, nullptr, /*allow_exceptions=*/false);
  if (vocab.is_discarded() || !vocab.is_object() || vocab.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(vocab_path, ": not a JSON object of token -> id"));
  }
  const size_t n = vocab.size();
  impl->token_text.resize(n);
  impl->token_bytes.resize(n);
  std::vector<bool> seen(n, false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) {
      return absl::InvalidArgumentError(
          absl::StrCat(vocab_path, ": entry \"", it.key(), "\" has a non-integer id"));
    }
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || static_cast<size_t>(id) >= n || seen[id]) {
      return absl::InvalidArgumentError(absl::StrCat(vocab_path, ": entry \"", it.key(),
                                                     "\" has id ", id,
                                                     " (ids must be unique and in [0, ", n, "))"));
    }
    seen[id] = true;
    const std::string& key = it.key();
    std::string bytes;
    for (size_t i = 0; i < key.size();) {
      char32_t cp;
      size_t len = utf8::DecodeAt(key, i, &cp);
      auto b = len == 0 ? u2b.end() : u2b.find(cp);
      if (b == u2b.end()) {
        return absl::InvalidArgumentError(absl::StrCat(vocab_path, ": entry \"", key, "\" (id ", id,
                                                       ") is not in GPT-2 byte-to-unicode form"));
      }
      bytes.push_back(static_cast<char>(b->second));
      i += len;
    }
    impl->token_text[id] = key;
    impl->token_bytes[id] = std::move(bytes);
    impl->text_to_id.emplace(key, static_cast<int32_t>(id));
  }
  for (int b = 0; b < 256; ++b) {
    std::string u;
    utf8::AppendUtf8(b2u[b], &u);
    auto it = impl->text_to_id.find(u);
    if (it == impl->text_to_id.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(vocab_path, ": no single-byte token for byte ", b, " (\"", u, "\")"));
    }
    impl->byte_id[b] = it->second;
  }
  auto eot = impl->text_to_id.find(std::string(kEndOfText));
  if (eot == impl->text_to_id.end()) {
    return absl::InvalidArgumentError(absl::StrCat(vocab_path, ": no \"", kEndOfText, "\" entry"));
  }
  impl->eot = eot->second;
  impl->token_bytes[impl->eot] = std::string(kEndOfText);

  // merges.txt: optional "#version" first line, then "left right" per line, by rank.
  int32_t rank = 0;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(merges_txt, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line_no == 1 && absl::StartsWith(line, "#version")) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(merges_path, ":", line_no, ": expected \"left right\", got \"", line, "\""));
    }
    auto l = impl->text_to_id.find(parts[0]);
    auto r = impl->text_to_id.find(parts[1]);
    auto m = impl->text_to_id.find(absl::StrCat(parts[0], parts[1]));
    if (l == impl->text_to_id.end() || r == impl->text_to_id.end() || m == impl->text_to_id.end()) {
      return absl::InvalidArgumentError(absl::StrCat(merges_path, ":", line_no, ": merge \"", line,
                                                     "\" uses a token missing from ", vocab_path));
    }
    if (!impl->merges.Add(l->second, r->second, m->second, rank++)) {
      return absl::InvalidArgumentError(
          absl::StrCat(merges_path, ":", line_no, ": duplicate merge \"", line, "\""));
    }
  }
  if (rank == 0) {  // would silently encode every text as single bytes
    return absl::InvalidArgumentError(
        absl::StrCat(merges_path, ": no merge rules (empty merges file?)"));
  }
  impl->shard_capacity =
      cache_capacity / kNumShards + (cache_capacity > 0 && cache_capacity < kNumShards);
  return std::unique_ptr<Gpt2Tokenizer>(new Gpt2Tokenizer(std::move(impl)));
}

void Gpt2Tokenizer::EncodeAppend(absl::string_view text, std::vector<int32_t>* out) const {
  while (!text.empty()) {
    size_t pos = text.find(kEndOfText);
    if (pos == absl::string_view::npos) {
      impl_->EncodeOrdinary(text, out);
      return;
    }
    impl_->EncodeOrdinary(text.substr(0, pos), out);
    out->push_back(impl_->eot);
    text.remove_prefix(pos + kEndOfText.size());
  }
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
  if (num_threads == 1 || text.size() < 2 * min_chunk) return Encode(text);
  // Cut before a '\n' whose preceding byte is ASCII non-whitespace: every pre-token piece ends
  // before whitespace that follows a non-space, so pieces (and special tokens, which contain no
  // '\n') never straddle such a cut.
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
