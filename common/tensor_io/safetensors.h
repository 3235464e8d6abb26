// Safetensors reader (over a read-only memory map, fully validated) and writer (atomic, 8-byte
// aligned header, sorted keys), the Hugging Face format: u64 little-endian header length N, N bytes
// of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the
// raw little-endian tensor bytes.
#ifndef MONOROUTE_COMMON_TENSOR_IO_SAFETENSORS_H_
#define MONOROUTE_COMMON_TENSOR_IO_SAFETENSORS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tensor_io/tensor_map.h"

namespace monoroute {

// Safetensors dtype names supported both ways: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
absl::StatusOr<at::ScalarType> SafetensorsDType(absl::string_view name);
absl::StatusOr<std::string> SafetensorsDTypeName(at::ScalarType type);

// One tensor's header entry. Offsets are relative to the start of the data section.
struct SafetensorsEntry {
  std::string name;            // tensor name
  at::ScalarType dtype;        // element type
  std::vector<int64_t> shape;  // may be empty (a scalar: one element)
  uint64_t begin = 0;          // first byte (inclusive)
  uint64_t end = 0;            // last byte (exclusive)
};

// The validated header of a safetensors file.
struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;        // sorted by `begin`
  std::map<std::string, std::string> metadata;  // the "__metadata__" object (string values)
  uint64_t data_start = 0;                      // byte offset of the data section in the file
};

// Parses and validates the header of the safetensors bytes `file` (the whole file): header length
// within the file and at most 100 MB, valid JSON object, known dtypes, non-negative shapes,
// data_offsets in range with end - begin == numel * itemsize, no overlaps, and the entries
// covering the data section contiguously with no gap and no trailing bytes. Every error is
// INVALID_ARGUMENT and names `path` (and the tensor, when one is at fault).
absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(absl::string_view file,
                                                         const std::string& path);

// A safetensors file's contents.
struct SafetensorsData {
  TensorMap tensors;                            // owned CPU tensors (copied out of the mapping)
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// Reads `path` through a memory map, validates it (ParseSafetensorsHeader) and copies every
// tensor into an owned, contiguous CPU tensor, so the result does not depend on the file after
// return (and writing into a tensor never touches the read-only map). NOT_FOUND if the file is
// missing. Thread-safe.
absl::StatusOr<SafetensorsData> ReadSafetensors(const std::string& path);

// The same over bytes already in memory; `path` is used in error messages only.
absl::StatusOr<SafetensorsData> ParseSafetensors(absl::string_view file, const std::string& path);

// Serialises `tensors` (any device/layout; copied to contiguous CPU) with `metadata` as
// safetensors bytes: keys sorted, header padded with spaces to a multiple of 8 bytes, data in key
// order. Tensors that share memory are written as independent copies (use DropSharedDuplicates
// first to write them once). INVALID_ARGUMENT names an unsupported dtype's tensor.
absl::StatusOr<std::string> SerializeSafetensors(
    const TensorMap& tensors, const std::map<std::string, std::string>& metadata = {});

// SerializeSafetensors + atomic write (temp file, fsync, rename) to `path`.
absl::Status WriteSafetensors(const std::string& path, const TensorMap& tensors,
                              const std::map<std::string, std::string>& metadata = {});

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_TENSOR_IO_SAFETENSORS_H_
