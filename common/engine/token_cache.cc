// Token cache: build (parallel tokenisation), validate against the manifest, load (mmap).
#include "common/engine/token_cache.h"

#include <sys/stat.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/engine/data_file.h"
#include "common/engine/sha256.h"
#include "common/engine/text_documents.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute::engine {
namespace {

namespace fs = std::filesystem;
// 2: plain text without <|endoftext|> lines is joined by blank-line tokens, not end-of-text.
constexpr int kManifestVersion = 2;

struct SourceStat {
  int64_t size = 0;
  int64_t mtime_ns = 0;
};

absl::StatusOr<SourceStat> StatFile(const std::string& path) {
  RETURN_IF_ERROR(CheckDataFile("data file", path).status());
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("data file not found: ", path));
  }
  SourceStat s;
  s.size = st.st_size;
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  return s;
}

// Tokenises documents with `threads` workers over chunks, each followed by `joiner`; the result
// is in document order.
void TokenizeDocuments(const Gpt2Tokenizer& tok, const std::vector<std::string>& docs,
                       const std::vector<int32_t>& joiner, int threads,
                       std::vector<std::vector<int32_t>>* out) {
  out->assign(docs.size(), {});
  constexpr size_t kChunk = 32;
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (;;) {
      size_t begin = next.fetch_add(kChunk);
      if (begin >= docs.size()) return;
      size_t end = std::min(docs.size(), begin + kChunk);
      for (size_t d = begin; d < end; ++d) {
        tok.EncodeAppend(docs[d], &(*out)[d]);
        (*out)[d].insert((*out)[d].end(), joiner.begin(), joiner.end());
      }
    }
  };
  int n =
      threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  n = static_cast<int>(std::min<size_t>(n, std::max<size_t>(1, docs.size() / kChunk)));
  std::vector<std::thread> pool;
  for (int i = 1; i < n; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

}  // namespace

// Tokens that join two paragraphs of running text: those of the blank line between two words,
// as the raw text tokenises ("a\n\nb" -> a, "\n", "\n", b with GPT-2; "\n\n" alone would
// be one token).
std::vector<int32_t> BlankLineTokens(const Gpt2Tokenizer& tok) {
  std::vector<int32_t> a, ab;
  tok.EncodeAppend("a", &a);
  tok.EncodeAppend("a\n\na", &ab);
  if (ab.size() < 2 * a.size()) return {};
  return std::vector<int32_t>(ab.begin() + static_cast<std::ptrdiff_t>(a.size()),
                              ab.end() - static_cast<std::ptrdiff_t>(a.size()));
}

absl::StatusOr<std::string> TokenizerSha256(const std::string& tokenizer_dir) {
  Sha256 h;
  ASSIGN_OR_RETURN(std::vector<std::string> files, TokenizerFiles(tokenizer_dir));
  for (const std::string& name : files) {
    std::string path = (fs::path(tokenizer_dir) / name).string();
    ASSIGN_OR_RETURN(MappedFile f, MappedFile::Open(path));
    h.Update(name);
    h.Update(absl::string_view(f.data(), f.size()));
  }
  return h.HexDigest();
}

int32_t TokenCache::token(int64_t i) const {
  const char* p = tokens_.data() + i * token_bytes_;
  if (token_bytes_ == 2) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  uint32_t v;
  std::memcpy(&v, p, 4);
  return static_cast<int32_t>(v);
}

void TokenCache::AppendDocument(int64_t d, std::vector<int32_t>* out) const {
  for (int64_t i = doc_begin(d); i < doc_end(d); ++i) out->push_back(token(i));
}

namespace {

// Paths of one source's cache files.
struct CachePaths {
  std::string manifest, tokens, docs;
};

// Whether the cache files at `paths` hold `source` (stat `st`) tokenised in `format` with the
// tokenizer of hash `tok_sha`; `*manifest` is the manifest read. A source only touched (same
// contents, new mtime) refreshes the manifest's stat.
absl::StatusOr<bool> CacheIsValid(const CachePaths& paths, const std::string& source,
                                  const SourceStat& st, TextFormat format,
                                  const std::string& tok_sha, nlohmann::json* manifest) {
  absl::StatusOr<std::string> text = ReadFile(paths.manifest);
  if (!text.ok()) return false;
  *manifest = nlohmann::json::parse(*text, nullptr, false);
  const nlohmann::json& m = *manifest;
  if (m.is_discarded() || !m.is_object() || m.value("version", 0) != kManifestVersion ||
      m.value("format", "") != TextFormatName(format) ||
      m.value("tokenizer_sha256", "") != tok_sha || !m.contains("source") ||
      !m["source"].is_object()) {
    return false;
  }
  const int64_t ntok = m.value("num_tokens", int64_t{-1});
  const int64_t ndoc = m.value("num_documents", int64_t{-1});
  const int tb = m.value("token_bytes", 0);
  std::error_code ec;
  if (ntok < 0 || ndoc < 0 || (tb != 2 && tb != 4) ||
      static_cast<int64_t>(fs::file_size(paths.tokens, ec)) != ntok * tb || ec ||
      static_cast<int64_t>(fs::file_size(paths.docs, ec)) != (ndoc + 1) * 8 || ec) {
    return false;
  }
  const nlohmann::json& src = m["source"];
  if (src.value("size", int64_t{-1}) == st.size &&
      src.value("mtime_ns", int64_t{-1}) == st.mtime_ns) {
    return true;
  }
  // Touched or changed: compare contents.
  ASSIGN_OR_RETURN(std::string sha, Sha256File(source));
  if (sha != src.value("sha256", "")) return false;
  (*manifest)["source"]["size"] = st.size;
  (*manifest)["source"]["mtime_ns"] = st.mtime_ns;
  RETURN_IF_ERROR(WriteFileAtomic(paths.manifest, manifest->dump(1)));
  return true;
}

// `toks` packed as little-endian ids of `token_bytes` each.
std::string PackTokens(const std::vector<std::vector<int32_t>>& toks, int token_bytes,
                       uint64_t total) {
  std::string packed(total * token_bytes, '\0');
  size_t pos = 0;
  for (const auto& t : toks) {
    for (int32_t id : t) {
      if (token_bytes == 2) {
        uint16_t v = static_cast<uint16_t>(id);
        std::memcpy(&packed[pos], &v, 2);
      } else {
        uint32_t v = static_cast<uint32_t>(id);
        std::memcpy(&packed[pos], &v, 4);
      }
      pos += token_bytes;
    }
  }
  return packed;
}

// Tokenises the source and writes the cache files; returns the manifest written.
absl::StatusOr<nlohmann::json> BuildCache(const TokenCacheOptions& options, const CachePaths& paths,
                                          const std::string& abs, const SourceStat& st,
                                          TextFormat format, const std::string& tok_sha) {
  ASSIGN_OR_RETURN(std::string sha, Sha256File(options.source_path));
  ASSIGN_OR_RETURN(DocumentSet set, ReadDocuments(options.source_path, format));
  const std::vector<std::string>& docs = set.docs;
  std::unique_ptr<Gpt2Tokenizer> owned;
  const Gpt2Tokenizer* tok = options.tokenizer;
  if (tok == nullptr) {
    Gpt2TokenizerOptions topts;
    topts.dir = options.tokenizer_dir;
    ASSIGN_OR_RETURN(owned, Gpt2Tokenizer::Create(topts));
    tok = owned.get();
  }
  std::vector<std::vector<int32_t>> toks;
  const std::vector<int32_t> joiner =
      set.paragraphs ? BlankLineTokens(*tok) : std::vector<int32_t>{tok->eot_id()};
  TokenizeDocuments(*tok, docs, joiner, options.threads, &toks);
  const int token_bytes = tok->vocab_size() <= 65536 ? 2 : 4;
  std::vector<uint64_t> offsets{0};
  for (const auto& t : toks) offsets.push_back(offsets.back() + t.size());
  RETURN_IF_ERROR(WriteFileAtomic(paths.tokens, PackTokens(toks, token_bytes, offsets.back())));
  RETURN_IF_ERROR(
      WriteFileAtomic(paths.docs, absl::string_view(reinterpret_cast<const char*>(offsets.data()),
                                                    offsets.size() * sizeof(uint64_t))));
  nlohmann::json manifest{
      {"version", kManifestVersion},
      {"source", {{"path", abs}, {"size", st.size}, {"mtime_ns", st.mtime_ns}, {"sha256", sha}}},
      {"tokenizer_dir", options.tokenizer_dir},
      {"tokenizer_sha256", tok_sha},
      {"format", TextFormatName(format)},
      {"joined_by", set.paragraphs ? "blank_line" : "end_of_text"},
      {"token_bytes", token_bytes},
      {"num_documents", static_cast<int64_t>(docs.size())},
      {"num_tokens", static_cast<int64_t>(offsets.back())},
      {"eot_id", tok->eot_id()},
      {"vocab_size", tok->vocab_size()}};
  RETURN_IF_ERROR(WriteFileAtomic(paths.manifest, manifest.dump(1)));
  return manifest;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenCache>> TokenCache::Open(const TokenCacheOptions& options) {
  ASSIGN_OR_RETURN(SourceStat st, StatFile(options.source_path));
  ASSIGN_OR_RETURN(TextFormat format, ResolveTextFormat(options.format, options.source_path));
  ASSIGN_OR_RETURN(std::string tok_sha, TokenizerSha256(options.tokenizer_dir));
  std::error_code ec;
  fs::create_directories(options.cache_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create cache dir ", options.cache_dir, ": ", ec.message()));
  }
  std::string abs = fs::absolute(options.source_path, ec).lexically_normal().string();
  std::string stem =
      absl::StrCat(fs::path(abs).filename().string(), "-",
                   Sha256Hex(absl::StrCat(abs, "\n", TextFormatName(format))).substr(0, 12));
  std::unique_ptr<TokenCache> cache(new TokenCache());
  CachePaths paths;
  paths.manifest = cache->manifest_path_ =
      (fs::path(options.cache_dir) / (stem + ".manifest.json")).string();
  paths.tokens = cache->tokens_path_ =
      (fs::path(options.cache_dir) / (stem + ".tokens.bin")).string();
  paths.docs = (fs::path(options.cache_dir) / (stem + ".docs.bin")).string();
  const std::string& docs_path = paths.docs;
  nlohmann::json manifest;
  ASSIGN_OR_RETURN(bool valid,
                   CacheIsValid(paths, options.source_path, st, format, tok_sha, &manifest));
  if (!valid) {
    ASSIGN_OR_RETURN(manifest, BuildCache(options, paths, abs, st, format, tok_sha));
    cache->rebuilt_ = true;
  }

  cache->token_bytes_ = manifest.value("token_bytes", 2);
  cache->eot_id_ = manifest.value("eot_id", 50256);
  cache->source_sha256_ = manifest["source"].value("sha256", "");
  ASSIGN_OR_RETURN(cache->tokens_, MappedFile::Open(cache->tokens_path_));
  ASSIGN_OR_RETURN(std::string offs, ReadFile(docs_path));
  cache->offsets_.resize(offs.size() / sizeof(uint64_t));
  std::memcpy(cache->offsets_.data(), offs.data(), cache->offsets_.size() * sizeof(uint64_t));
  if (cache->offsets_.empty() ||
      static_cast<int64_t>(cache->offsets_.back()) * cache->token_bytes_ !=
          static_cast<int64_t>(cache->tokens_.size())) {
    return absl::DataLossError(absl::StrCat("token cache ", docs_path, " is inconsistent with ",
                                            cache->tokens_path_, "; delete the cache dir"));
  }
  return cache;
}

}  // namespace monoroute::engine
