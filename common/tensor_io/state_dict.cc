// LoadStateDict: picks model.safetensors or pytorch_model.bin and reads it.
#include "common/tensor_io/state_dict.h"

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tensor_io/safetensors.h"
#include "common/tensor_io/torch_pickle.h"

namespace monoroute {

absl::StatusOr<std::string> FindWeightsFile(const std::string& dir_or_file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(dir_or_file, ec)) {
    for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
      fs::path p = fs::path(dir_or_file) / name;
      if (fs::is_regular_file(p, ec)) return p.string();
    }
    return absl::NotFoundError(
        absl::StrCat(dir_or_file, ": holds neither model.safetensors nor pytorch_model.bin"));
  }
  if (fs::is_regular_file(dir_or_file, ec)) return dir_or_file;
  return absl::NotFoundError(absl::StrCat(dir_or_file, ": no such file or directory"));
}

absl::StatusOr<TensorMap> LoadStateDict(const std::string& dir_or_file) {
  ASSIGN_OR_RETURN(std::string path, FindWeightsFile(dir_or_file));
  if (absl::EndsWith(path, ".safetensors")) {
    ASSIGN_OR_RETURN(SafetensorsData data, ReadSafetensors(path));
    return std::move(data.tensors);
  }
  return ReadTorchCheckpoint(path);
}

}  // namespace monoroute
