// libFuzzer target: the strict pickle VM of the pytorch_model.bin reader
// (common/tensor_io/torch_pickle UnpickleStateDict) on arbitrary data.pkl bytes. Storages come
// from a loader that, like the archive's, refuses sizes it cannot back (here: > 64 Ki elements).
// Properties: no crash, leak, hang or sanitizer report; every returned tensor is a view inside
// its storage.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/tensor_io/torch_pickle.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/tensor_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view pickle(reinterpret_cast<const char*>(data), size);
  monoroute::StorageLoader loader = [](const std::string& key, at::ScalarType dtype,
                                       int64_t numel) -> absl::StatusOr<at::Tensor> {
    if (numel > (int64_t{1} << 16)) {
      return absl::InvalidArgumentError(absl::StrCat("record data/", key, " is too small"));
    }
    return at::zeros({numel}, at::TensorOptions().dtype(dtype));
  };
  auto state = monoroute::UnpickleStateDict(pickle, loader, "fuzz.pkl");
  if (!state.ok()) {
    FUZZ_CHECK(state.status().code() == absl::StatusCode::kInvalidArgument,
               "unexpected error code: %s", state.status().ToString().c_str());
    return 0;
  }
  for (const auto& [name, t] : *state) monoroute::fuzz::CheckTensorInBounds(name, t);
  return 0;
}
