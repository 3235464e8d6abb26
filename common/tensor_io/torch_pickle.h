// Reader of PyTorch's `pytorch_model.bin` (the zip archive torch.save writes since 1.6): a strict
// pickle VM for the subset torch.save emits for a state dict, tensors rebuilt from the archive's
// storages. Nothing in the pickle is executed: globals come from a fixed allow-list.
#ifndef MONOROUTE_COMMON_TENSOR_IO_TORCH_PICKLE_H_
#define MONOROUTE_COMMON_TENSOR_IO_TORCH_PICKLE_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tensor_io/tensor_map.h"

namespace monoroute {

// Loads storage `key` (the archive's data/<key> record) as a 1-D CPU tensor of `numel` elements
// of `dtype`. Called once per distinct key; tensors viewing the same key share that storage.
using StorageLoader = std::function<absl::StatusOr<at::Tensor>(
    const std::string& key, at::ScalarType dtype, int64_t numel)>;

// Runs the strict pickle VM over `pickle` (a data.pkl) and returns the state dict it builds: a
// dict/OrderedDict of str -> tensor (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter and torch.<T>Storage globals; BUILD state such as _metadata is
// parsed and ignored). Tensors are as_strided views (offset, size, stride) of their storage, so
// tied weights alias. Errors are INVALID_ARGUMENT naming `name` and, e.g.,
// "unsupported pickle opcode 0x93 at byte 12" or "global 'os system' not allowed".
absl::StatusOr<TensorMap> UnpickleStateDict(absl::string_view pickle, const StorageLoader& loader,
                                            const std::string& name);

// Reads a torch.save zip archive (`pytorch_model.bin`) through a read-only memory map:
// ParseTorchCheckpoint over the file's bytes. NOT_FOUND if the file is missing. Thread-safe.
absl::StatusOr<TensorMap> ReadTorchCheckpoint(const std::string& path);

// The same over an archive already in memory (`archive` must outlive the call only; the tensors
// are owned copies): <archive>/data.pkl plus <archive>/data/<key> storages (checked: exact byte
// size, little-endian byteorder). INVALID_ARGUMENT naming `path` for a bad archive or pickle;
// legacy (pre-1.6, non-zip) checkpoints are rejected by name. Thread-safe.
absl::StatusOr<TensorMap> ParseTorchCheckpoint(absl::string_view archive, const std::string& path);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TENSOR_IO_TORCH_PICKLE_H_
