// EvalData::Load: token cache (temporary unless a cache dir is given) -> stream -> windows.
#include "common/engine/eval_data.h"

#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/engine/job_spec.h"
#include "common/engine/token_cache.h"

namespace monoroute::engine {

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
  std::unique_ptr<EvalData> data(new EvalData());
  TokenCacheOptions co;
  co.source_path = options.data_path;
  co.format = options.format;
  co.tokenizer_dir = ResolveTokenizerDir(options.tokenizer_dir, options.model_dir);
  if (options.cache_dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "monoroute-eval-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError("cannot create a temporary directory for the token cache");
    }
    data->temp_dir_ = tmpl;
    co.cache_dir = tmpl;
  } else {
    co.cache_dir = options.cache_dir;
  }
  absl::StatusOr<std::unique_ptr<TokenCache>> cache = TokenCache::Open(co);
  if (!cache.ok()) {
    return absl::Status(cache.status().code(), absl::StrCat("data: ", cache.status().message()));
  }
  std::vector<int32_t> stream;
  for (int64_t d = 0; d < (*cache)->num_documents(); ++d) (*cache)->AppendDocument(d, &stream);
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
