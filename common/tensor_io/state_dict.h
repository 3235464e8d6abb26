// LoadStateDict: a Hugging Face model's weights from a directory or file, whichever format.
#ifndef MONOROUTE_COMMON_TENSOR_IO_STATE_DICT_H_
#define MONOROUTE_COMMON_TENSOR_IO_STATE_DICT_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/tensor_io/tensor_map.h"

namespace monoroute {

// `dir_or_file` is either a file (read as safetensors if it ends in ".safetensors", else as a
// torch.save archive) or a directory holding model.safetensors (preferred) or pytorch_model.bin.
// NOT_FOUND names the directory when it holds neither. The tensors are owned CPU tensors; those
// read from pytorch_model.bin may share storage (tied embeddings). Thread-safe.
absl::StatusOr<TensorMap> LoadStateDict(const std::string& dir_or_file);

// The weights file LoadStateDict would read for `dir_or_file`, or NOT_FOUND.
absl::StatusOr<std::string> FindWeightsFile(const std::string& dir_or_file);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TENSOR_IO_STATE_DICT_H_
