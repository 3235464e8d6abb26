// ConvertToSafetensors: pytorch_model.bin -> model.safetensors.
#include "common/tensor_io/convert.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tensor_io/safetensors.h"
#include "common/tensor_io/tensor_map.h"
#include "common/tensor_io/torch_pickle.h"

namespace monoroute {

absl::StatusOr<ConvertResult> ConvertToSafetensors(const ConvertOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (options.model_dir.empty()) return absl::InvalidArgumentError("model_dir is empty");
  if (!fs::is_directory(options.model_dir, ec)) {
    return absl::NotFoundError(absl::StrCat(options.model_dir, ": not a directory"));
  }
  const std::string in = (fs::path(options.model_dir) / "pytorch_model.bin").string();
  ConvertResult result;
  result.output = options.output.empty()
                      ? (fs::path(options.model_dir) / "model.safetensors").string()
                      : options.output;
  if (!options.overwrite && fs::exists(result.output, ec)) {
    return absl::AlreadyExistsError(absl::StrCat(result.output, " exists (overwrite it?)"));
  }
  ASSIGN_OR_RETURN(TensorMap tensors, ReadTorchCheckpoint(in));
  result.tensors_read = tensors.size();
  result.dropped = DropSharedDuplicates(tensors);
  result.tensors_written = tensors.size();
  RETURN_IF_ERROR(WriteSafetensors(result.output, tensors, {{"format", "pt"}}));
  return result;
}

}  // namespace monoroute
