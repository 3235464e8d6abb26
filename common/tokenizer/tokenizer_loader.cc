// Loading a Gpt2Tokenizer: tokenizer.json (HF `tokenizers` byte-level BPE) or vocab.json +
// merges.txt (GPT-2's files), into one Gpt2Tokenizer::Impl.
#include <algorithm>
#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base/data_dirs.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/gpt2_tokenizer.h"
#include "common/tokenizer/normalizer.h"
#include "common/tokenizer/tokenizer_impl.h"
#include "common/tokenizer/tokenizer_json.h"
#include "common/tokenizer/utf8_util.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;

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

// Builds an Impl step by step; errors name `where` (a file, or a file and JSON path).
class ImplBuilder {
 public:
  ImplBuilder() : impl_(std::make_unique<Gpt2Tokenizer::Impl>()) {
    const std::array<char32_t, 256> b2u = ByteToUnicode();
    for (int b = 0; b < 256; ++b) u2b_[b2u[b]] = static_cast<unsigned char>(b);
    b2u_ = b2u;
  }

  // `token` in byte-to-unicode form -> its bytes; false if a character is outside the map.
  bool TokenBytes(absl::string_view token, std::string* bytes) const {
    bytes->clear();
    for (size_t i = 0; i < token.size();) {
      char32_t cp;
      size_t len = utf8::DecodeAt(token, i, &cp);
      auto b = len == 0 ? u2b_.end() : u2b_.find(cp);
      if (b == u2b_.end()) return false;
      bytes->push_back(static_cast<char>(b->second));
      i += len;
    }
    return true;
  }

  // Adds a vocabulary object (token -> id). `strict` (vocab.json): ids dense in [0, size) and
  // every key in byte-to-unicode form; else (tokenizer.json) ids unique and below size + 1024,
  // keys outside the form decode to their own bytes (HF's ByteLevel decoder does the same).
  absl::Status AddVocab(const nlohmann::json& vocab, const std::string& where, bool strict,
                        size_t extra_ids) {
    const size_t limit = strict ? vocab.size() : vocab.size() + extra_ids + 1024;
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      if (!it.value().is_number_integer()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": entry \"", it.key(), "\" has a non-integer id"));
      }
      const int64_t id = it.value().get<int64_t>();
      if (id < 0 || static_cast<size_t>(id) >= limit || Has(id)) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": entry \"", it.key(), "\" has id ",
                                                       id, " (ids must be unique and in [0, ",
                                                       limit, "))"));
      }
      std::string bytes;
      const bool byte_form = TokenBytes(it.key(), &bytes);
      if (!byte_form) {
        if (strict) {
          return absl::InvalidArgumentError(absl::StrCat(where, ": entry \"", it.key(), "\" (id ",
                                                         id,
                                                         ") is not in GPT-2 byte-to-unicode form"));
        }
        bytes = it.key();
      }
      if (byte_form && impl_->pipeline.ignore_merges) {
        impl_->bytes_to_model_id[bytes] = static_cast<int32_t>(id);
      }
      Set(static_cast<int32_t>(id), it.key(), std::move(bytes));
    }
    for (int b = 0; b < 256; ++b) {
      std::string u;
      utf8::AppendUtf8(b2u_[b], &u);
      auto it = impl_->text_to_id.find(u);
      if (it == impl_->text_to_id.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": no single-byte token for byte ", b, " (\"", u, "\")"));
      }
      impl_->byte_id[b] = it->second;
    }
    return absl::OkStatus();
  }

  // Adds merge rule `rank`: left + right -> the token left+right. `where` names the rule.
  absl::Status AddMerge(absl::string_view left, absl::string_view right, int32_t rank,
                        const std::string& where, const std::string& vocab_where) {
    auto l = impl_->text_to_id.find(left);
    auto r = impl_->text_to_id.find(right);
    auto m = impl_->text_to_id.find(absl::StrCat(left, right));
    if (l == impl_->text_to_id.end() || r == impl_->text_to_id.end() ||
        m == impl_->text_to_id.end()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": merge \"", left, " ", right,
                                                     "\" uses a token missing from ", vocab_where));
    }
    if (!impl_->merges.Add(l->second, r->second, m->second, rank)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": duplicate merge \"", left, " ", right, "\""));
    }
    return absl::OkStatus();
  }

  // Adds the added tokens (their id takes their content), builds both matchers and sets eot.
  absl::Status AddTokens(std::vector<AddedToken> tokens, const std::string& where);

  // The finished tokenizer's state.
  std::unique_ptr<Gpt2Tokenizer::Impl> Finish(size_t cache_capacity) {
    impl_->shard_capacity = cache_capacity / kTokenizerCacheShards +
                            (cache_capacity > 0 && cache_capacity < kTokenizerCacheShards);
    return std::move(impl_);
  }

  Gpt2Tokenizer::Impl& impl() { return *impl_; }

 private:
  bool Has(int64_t id) const {
    return static_cast<size_t>(id) < has_.size() && has_[static_cast<size_t>(id)];
  }
  void Set(int32_t id, const std::string& text, std::string bytes) {
    if (static_cast<size_t>(id) >= impl_->token_text.size()) {
      impl_->token_text.resize(id + 1);
      impl_->token_bytes.resize(id + 1);
      has_.resize(id + 1, false);
    }
    has_[id] = true;
    impl_->token_text[id] = text;
    impl_->token_bytes[id] = std::move(bytes);
    impl_->text_to_id[text] = id;
  }

  std::unique_ptr<Gpt2Tokenizer::Impl> impl_;
  absl::flat_hash_map<char32_t, unsigned char> u2b_;
  std::array<char32_t, 256> b2u_{};
  std::vector<bool> has_;
};

absl::Status ImplBuilder::AddTokens(std::vector<AddedToken> tokens, const std::string& where) {
  absl::flat_hash_map<std::string, int32_t> seen;
  std::vector<AddedToken> raw, norm;
  std::vector<std::string> raw_pat, norm_pat;
  const size_t limit = impl_->token_text.size() + tokens.size() + 1024;
  for (size_t i = 0; i < tokens.size(); ++i) {
    AddedToken& t = tokens[i];
    if (static_cast<size_t>(t.id) >= limit) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "[", i, "].id: ", t.id, " is beyond the vocabulary (limit ", limit, ")"));
    }
    auto [it, inserted] = seen.emplace(t.content, t.id);
    if (!inserted && it->second != t.id) {
      return absl::InvalidArgumentError(absl::StrCat(where, "[", i, "].content: \"", t.content,
                                                     "\" already has id ", it->second));
    }
    // Decoding as HF's ByteLevel decoder: characters of the byte-to-unicode map -> their bytes,
    // else (e.g. a space) the content's own bytes.
    const std::string pattern =
        t.normalized && impl_->pipeline.nfc ? NfcNormalize(t.content) : t.content;
    std::string bytes;
    if (!TokenBytes(t.content, &bytes)) bytes = t.content;
    Set(t.id, t.content, std::move(bytes));
    if (t.content.find('\n') != std::string::npos || t.rstrip) impl_->parallel_safe = false;
    if (t.normalized) {
      norm_pat.push_back(pattern);
      norm.push_back(std::move(t));
    } else {
      raw_pat.push_back(t.content);
      raw.push_back(std::move(t));
    }
  }
  impl_->raw_tokens = AddedTokenMatcher(std::move(raw), std::move(raw_pat));
  impl_->normalized_tokens = AddedTokenMatcher(std::move(norm), std::move(norm_pat));
  if (impl_->pipeline.add_prefix_space || !impl_->pipeline.use_regex) {
    impl_->parallel_safe = false;
  }
  auto eot = impl_->text_to_id.find(std::string(Gpt2Tokenizer::kEndOfText));
  if (eot == impl_->text_to_id.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": no \"", Gpt2Tokenizer::kEndOfText, "\" token"));
  }
  impl_->eot = eot->second;
  return absl::OkStatus();
}

// The contents of `path`, or its error prefixed with `what`.
absl::StatusOr<std::string> ReadTokenizerFile(const std::string& path, absl::string_view what) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(what, ": ", text.status().message()));
  }
  return text;
}

bool IsFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> TokenizerFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const char* name : {kTokenizerJsonFile, kVocabJsonFile, kMergesTxtFile}) {
    if (IsFile(fs::path(dir) / name)) files.push_back(name);
  }
  const bool has_json = !files.empty() && files[0] == kTokenizerJsonFile;
  const bool has_pair = std::count(files.begin(), files.end(), kVocabJsonFile) > 0 &&
                        std::count(files.begin(), files.end(), kMergesTxtFile) > 0;
  if (!has_json && !has_pair) {
    return absl::NotFoundError(absl::StrCat("tokenizer: ", dir, " holds neither ",
                                            kTokenizerJsonFile, " nor ", kVocabJsonFile, " + ",
                                            kMergesTxtFile));
  }
  return files;
}

absl::StatusOr<std::unique_ptr<Gpt2Tokenizer>> Gpt2Tokenizer::Create(
    const Gpt2TokenizerOptions& options) {
  std::string json_path = options.tokenizer_json_path;
  const bool explicit_pair = !options.vocab_path.empty() || !options.merges_path.empty();
  const std::string dir = options.dir.empty() ? DataDirPath(DataResource::kGpt2) : options.dir;
  if (json_path.empty() && !explicit_pair && IsFile(fs::path(dir) / kTokenizerJsonFile)) {
    json_path = (fs::path(dir) / kTokenizerJsonFile).string();
  }
  if (!json_path.empty()) {
    ASSIGN_OR_RETURN(std::string text, ReadTokenizerFile(json_path, "tokenizer file"));
    return CreateFromJson(text, json_path, options.cache_capacity);
  }
  const std::string vocab_path =
      options.vocab_path.empty() ? absl::StrCat(dir, "/", kVocabJsonFile) : options.vocab_path;
  const std::string merges_path =
      options.merges_path.empty() ? absl::StrCat(dir, "/", kMergesTxtFile) : options.merges_path;
  ASSIGN_OR_RETURN(std::string vocab_text, ReadTokenizerFile(vocab_path, "tokenizer vocab file"));
  ASSIGN_OR_RETURN(std::string merges_text,
                   ReadTokenizerFile(merges_path, "tokenizer merges file"));
  return CreateFromText(vocab_text, merges_text, vocab_path, merges_path, options.cache_capacity);
}

absl::StatusOr<std::unique_ptr<Gpt2Tokenizer>> Gpt2Tokenizer::CreateFromText(
    absl::string_view vocab_json, absl::string_view merges_txt, const std::string& vocab_path,
    const std::string& merges_path, size_t cache_capacity) {
  ImplBuilder b;
  nlohmann::json vocab = nlohmann::json::parse(vocab_json, nullptr, /*allow_exceptions=*/false);
  if (vocab.is_discarded() || !vocab.is_object() || vocab.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(vocab_path, ": not a JSON object of token -> id"));
  }
  RETURN_IF_ERROR(b.AddVocab(vocab, vocab_path, /*strict=*/true, 0));
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
    RETURN_IF_ERROR(b.AddMerge(parts[0], parts[1], rank++, absl::StrCat(merges_path, ":", line_no),
                               vocab_path));
  }
  if (rank == 0) {  // would silently encode every text as single bytes
    return absl::InvalidArgumentError(
        absl::StrCat(merges_path, ": no merge rules (empty merges file?)"));
  }
  // GPT-2's one special token, matched in the raw text (as HF's GPT-2 tokenizer.json does).
  auto eot = b.impl().text_to_id.find(std::string(kEndOfText));
  if (eot == b.impl().text_to_id.end()) {
    return absl::InvalidArgumentError(absl::StrCat(vocab_path, ": no \"", kEndOfText, "\" entry"));
  }
  AddedToken t;
  t.id = eot->second;
  t.content = std::string(kEndOfText);
  t.special = true;
  RETURN_IF_ERROR(b.AddTokens({t}, vocab_path));
  return std::unique_ptr<Gpt2Tokenizer>(new Gpt2Tokenizer(b.Finish(cache_capacity)));
}

absl::StatusOr<std::unique_ptr<Gpt2Tokenizer>> Gpt2Tokenizer::CreateFromJson(
    absl::string_view tokenizer_json, const std::string& path, size_t cache_capacity) {
  ASSIGN_OR_RETURN(TokenizerJson spec, ParseTokenizerJson(tokenizer_json, path));
  ImplBuilder b;
  b.impl().pipeline = spec.pipeline;
  const std::string vocab_where = absl::StrCat(path, ": model.vocab");
  RETURN_IF_ERROR(b.AddVocab(spec.vocab, vocab_where, /*strict=*/false, spec.added_tokens.size()));
  for (size_t i = 0; i < spec.merges.size(); ++i) {
    RETURN_IF_ERROR(b.AddMerge(spec.merges[i].first, spec.merges[i].second, static_cast<int32_t>(i),
                               absl::StrCat(path, ": model.merges[", i, "]"), vocab_where));
  }
  RETURN_IF_ERROR(b.AddTokens(std::move(spec.added_tokens), absl::StrCat(path, ": added_tokens")));
  return std::unique_ptr<Gpt2Tokenizer>(new Gpt2Tokenizer(b.Finish(cache_capacity)));
}

}  // namespace monoroute
