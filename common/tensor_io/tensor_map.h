// TensorMap: a named set of tensors (a state dict), plus shape checks and storage-sharing helpers.
#ifndef MONOROUTE_COMMON_TENSOR_IO_TENSOR_MAP_H_
#define MONOROUTE_COMMON_TENSOR_IO_TENSOR_MAP_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace monoroute {

// A state dict: tensor name -> tensor, sorted by name. Tensors are reference-counted handles;
// copying the map shares the tensors. Not thread-safe for concurrent mutation.
using TensorMap = std::map<std::string, at::Tensor>;

// OK iff `tensors` holds `name` with exactly `expected_shape`. NOT_FOUND names the missing tensor;
// INVALID_ARGUMENT names the tensor and both shapes, e.g.
// "tensor 'transformer.wte.weight' has shape [1000, 32], expected [1000, 64]".
absl::Status CheckShape(const TensorMap& tensors, const std::string& name,
                        const std::vector<int64_t>& expected_shape);

// True when `a` and `b` are views of one storage whose byte ranges overlap (e.g. tied
// lm_head.weight and transformer.wte.weight loaded from pytorch_model.bin).
bool SharesMemory(const at::Tensor& a, const at::Tensor& b);

// Removes the tensors that share memory with another tensor of the map, keeping one name per
// shared group, as Hugging Face's save_pretrained does: a name in `preferred_to_keep` is kept
// when it is in the group (default: transformer.wte.weight over lm_head.weight), else the
// lexicographically first. Returns the removed names.
std::vector<std::string> DropSharedDuplicates(TensorMap& tensors,
                                              const std::vector<std::string>& preferred_to_keep = {
                                                  "transformer.wte.weight"});

// "[2, 3]" for logging and error messages.
std::string ShapeString(at::IntArrayRef shape);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TENSOR_IO_TENSOR_MAP_H_
