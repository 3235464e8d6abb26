// libFuzzer target: the whole pytorch_model.bin reader (common/tensor_io/torch_pickle
// ParseTorchCheckpoint: caffe2's zip reader, the byteorder and record-size checks, the pickle
// VM) on arbitrary archive bytes. Properties: no crash, leak, hang or sanitizer report; errors
// are INVALID_ARGUMENT (or RESOURCE_EXHAUSTED); every returned tensor lies inside its storage.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/tensor_io/torch_pickle.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/tensor_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view archive(reinterpret_cast<const char*>(data), size);
  auto state = monoroute::ParseTorchCheckpoint(archive, "fuzz.bin");
  if (!state.ok()) {
    FUZZ_CHECK(state.status().code() == absl::StatusCode::kInvalidArgument ||
                   state.status().code() == absl::StatusCode::kResourceExhausted,
               "unexpected error code: %s", state.status().ToString().c_str());
    return 0;
  }
  for (const auto& [name, t] : *state) monoroute::fuzz::CheckTensorInBounds(name, t);
  return 0;
}
