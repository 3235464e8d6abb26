// EvalData::Load: a bounded prefix read (max_batches > 0) or the whole file through the token
// cache (temporary unless a cache dir is given), then windows.
#include "common/engine/eval_data.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/engine/data_file.h"
#include "common/engine/job_spec.h"
#include "common/engine/text_documents.h"
#include "common/engine/token_cache.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute::engine {
namespace {

// `status` with "data: " before its message.
absl::Status DataError(const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("data: ", status.message()));
}

// The end of the part of a prefix (not the whole file) that tokenises as the whole file does:
// text up to the last '\n' that follows an ASCII non-space byte (no pre-token piece, added token
// or NFC composition crosses it); JSONL: up to the last '\n'. npos when there is none.
size_t SafeEnd(absl::string_view text, TextFormat format) {
  for (size_t p = text.rfind('\n'); p != absl::string_view::npos && p > 0;
       p = text.rfind('\n', p - 1)) {
    if (format == TextFormat::kJsonl) return p;
    const unsigned char c = static_cast<unsigned char>(text[p - 1]);
    if (c < 0x80 && c != ' ' && (c < 0x09 || c > 0x0D)) return p;
  }
  return absl::string_view::npos;
}

// Tokens of `text`'s documents, each followed by its joiner (as TokenCache builds them), stopping
// once `limit` tokens are there.
absl::StatusOr<std::vector<int32_t>> TokenizePart(absl::string_view text, TextFormat format,
                                                  const std::string& source,
                                                  const Gpt2Tokenizer& tok, size_t limit) {
  std::vector<std::string> jsonl_docs;
  std::vector<absl::string_view> docs;
  std::vector<int32_t> joiner = {tok.eot_id()};
  if (format == TextFormat::kJsonl) {
    ASSIGN_OR_RETURN(jsonl_docs, ParseJsonlDocuments(text, source));
    docs.assign(jsonl_docs.begin(), jsonl_docs.end());
  } else {
    if (!HasEndOfTextLines(text)) joiner = BlankLineTokens(tok);
    docs = SplitTextDocuments(text);
  }
  std::vector<int32_t> stream;
  for (absl::string_view d : docs) {
    if (stream.size() >= limit) break;
    tok.EncodeAppend(d, &stream);
    stream.insert(stream.end(), joiner.begin(), joiner.end());
  }
  return stream;
}

// The first `needed` tokens of the file (fewer if it has fewer), reading as little of it as
// possible: from ~16 bytes per token, growing 4x, up to options.max_read_bytes.
absl::StatusOr<std::vector<int32_t>> ReadBounded(const EvalDataOptions& options, TextFormat format,
                                                 int64_t file_size, size_t needed,
                                                 int64_t* bytes_read) {
  Gpt2TokenizerOptions topts;
  topts.dir = ResolveTokenizerDir(options.tokenizer_dir, options.model_dir);
  ASSIGN_OR_RETURN(std::unique_ptr<Gpt2Tokenizer> tok, Gpt2Tokenizer::Create(topts));
  int64_t want = std::max<int64_t>(int64_t{1} << 20, static_cast<int64_t>(needed) * 16);
  for (;;) {
    const int64_t n = std::min({want, file_size, options.max_read_bytes});
    ASSIGN_OR_RETURN(std::string text, ReadDataFilePrefix("data", options.data_path, n));
    *bytes_read = static_cast<int64_t>(text.size());
    const bool whole = *bytes_read >= file_size;
    const bool last_try = whole || n >= options.max_read_bytes;
    absl::string_view part(text);
    if (!whole) {
      const size_t end = SafeEnd(part, format);
      if (end == absl::string_view::npos && !last_try) {
        want = n * 4;
        continue;
      }
      if (end == absl::string_view::npos) {  // nothing to cut at within the read limit
        return absl::ResourceExhaustedError(absl::StrCat(
            "data: the first ", n, " bytes of ", options.data_path, " hold no ",
            format == TextFormat::kJsonl ? "complete JSONL line"
                                         : "line break after a non-space character",
            " (read limit for a bounded request: ", options.max_read_bytes, " bytes)"));
      }
      part = part.substr(0, end);
    }
    // Two tokens of margin: the joiner after a document cut short is not the whole file's.
    ASSIGN_OR_RETURN(std::vector<int32_t> stream,
                     TokenizePart(part, format, options.data_path, *tok, needed + 2));
    if (whole || stream.size() >= needed + 2 || last_try) {
      if (!whole && stream.size() > needed) stream.resize(needed);
      return stream;
    }
    want = n * 4;
  }
}

// Every token of the file, through the packed token cache (built in a temporary directory owned
// by `data` unless options.cache_dir is set).
absl::StatusOr<std::vector<int32_t>> ReadWhole(const EvalDataOptions& options, EvalData* data,
                                               std::string* temp_dir) {
  TokenCacheOptions co;
  co.source_path = options.data_path;
  co.format = options.format;
  co.tokenizer_dir = ResolveTokenizerDir(options.tokenizer_dir, options.model_dir);
  if (options.cache_dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "monoroute-eval-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError("cannot create a temporary directory for the token cache");
    }
    *temp_dir = tmpl;
    co.cache_dir = tmpl;
  } else {
    co.cache_dir = options.cache_dir;
  }
  absl::StatusOr<std::unique_ptr<TokenCache>> cache = TokenCache::Open(co);
  if (!cache.ok()) return DataError(cache.status());
  std::vector<int32_t> stream;
  stream.reserve(static_cast<size_t>((*cache)->num_tokens()));
  for (int64_t d = 0; d < (*cache)->num_documents(); ++d) (*cache)->AppendDocument(d, &stream);
  return stream;
}

}  // namespace

EvalData::~EvalData() {
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

absl::StatusOr<std::unique_ptr<EvalData>> EvalData::Load(const EvalDataOptions& options) {
  if (options.seq_len <= 0) return absl::InvalidArgumentError("seq_len: must be > 0");
  if (options.batch_size <= 0) return absl::InvalidArgumentError("batch_size: must be > 0");
  if (options.max_batches < 0) return absl::InvalidArgumentError("max_batches: must be >= 0");
  absl::StatusOr<int64_t> size = CheckDataFile("data", options.data_path);
  if (!size.ok()) return size.status();
  ASSIGN_OR_RETURN(TextFormat format, ResolveTextFormat(options.format, options.data_path));
  std::unique_ptr<EvalData> data(new EvalData());
  std::vector<int32_t> stream;
  // Windows of seq_len + 1 at stride seq_len: max_batches full batches need this many tokens.
  // A file cannot hold more tokens than about one per byte (joiners aside): clamp to that.
  const double needed =
      std::min(static_cast<double>(options.max_batches) * options.batch_size * options.seq_len + 1,
               2.0 * static_cast<double>(*size) + 16);
  if (options.max_batches > 0) {
    ASSIGN_OR_RETURN(stream, ReadBounded(options, format, *size, static_cast<size_t>(needed),
                                         &data->bytes_read_));
  } else {
    if (*size > options.max_file_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "data: ", options.data_path, " is ", *size, " bytes, over the ", options.max_file_bytes,
          "-byte limit for reading a whole file; ask for fewer tokens (max_batches / max_tokens)"));
    }
    ASSIGN_OR_RETURN(stream, ReadWhole(options, data.get(), &data->temp_dir_));
    data->bytes_read_ = *size;
  }
  if (options.vocab_size > 0) {
    for (int32_t t : stream) {
      if (t >= options.vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "data: token id ", t, " is outside the model's vocab_size ", options.vocab_size));
      }
    }
  }
  data->num_tokens_ = static_cast<int64_t>(stream.size());
  data->batches_ = EvalBatches(stream, options.seq_len, options.batch_size, options.max_batches);
  if (data->batches_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data: ", options.data_path, " has ", stream.size(), " tokens, fewer than seq_len + 1"));
  }
  return data;
}

}  // namespace monoroute::engine
