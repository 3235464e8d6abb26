// ConvertToSafetensors: pytorch_model.bin -> model.safetensors, tied weights written once.
#ifndef MONOROUTE_COMMON_TENSOR_IO_CONVERT_H_
#define MONOROUTE_COMMON_TENSOR_IO_CONVERT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace monoroute {

// Options of ConvertToSafetensors.
struct ConvertOptions {
  std::string model_dir;   // directory holding pytorch_model.bin (required)
  std::string output;      // output file; empty: <model_dir>/model.safetensors
  bool overwrite = false;  // replace an existing output file instead of ALREADY_EXISTS
};

// What ConvertToSafetensors did.
struct ConvertResult {
  std::string output;                // the file written
  size_t tensors_read = 0;           // tensors in pytorch_model.bin
  size_t tensors_written = 0;        // tensors in the safetensors file
  std::vector<std::string> dropped;  // names not written: they share storage with a kept tensor
};

// Reads <model_dir>/pytorch_model.bin and writes it as safetensors (metadata format=pt, written
// atomically). Tensors sharing storage are written once, as save_pretrained does: lm_head.weight
// is dropped when tied to transformer.wte.weight. NOT_FOUND when the input is missing,
// ALREADY_EXISTS when the output exists and !overwrite. Thread-safe (distinct outputs).
absl::StatusOr<ConvertResult> ConvertToSafetensors(const ConvertOptions& options);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TENSOR_IO_CONVERT_H_
