// libFuzzer target: the safetensors reader (common/tensor_io/safetensors) on arbitrary bytes.
// Properties: no crash, leak or sanitizer report; an accepted file's tensors lie within their
// storage, agree with the validated header, and survive a write + re-read bit for bit.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/tensor_io/safetensors.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/tensor_check.h"

namespace {

bool SameBytes(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const size_t n = a.numel() * a.element_size();
  return n == 0 || std::memcmp(a.data_ptr(), b.data_ptr(), n) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto header = monoroute::ParseSafetensorsHeader(bytes, "fuzz.safetensors");
  auto parsed = monoroute::ParseSafetensors(bytes, "fuzz.safetensors");
  // The full parse accepts only what the header check accepts; it may still refuse a valid
  // header when LibTorch cannot build a tensor (e.g. an empty one with absurd other dimensions).
  FUZZ_CHECK(header.ok() || !parsed.ok(), "full parse accepts a rejected header: %s",
             header.status().ToString().c_str());
  if (!parsed.ok()) {
    const absl::StatusCode code = parsed.status().code();
    FUZZ_CHECK(
        code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kResourceExhausted,
        "unexpected error code: %s", parsed.status().ToString().c_str());
    return 0;
  }
  FUZZ_CHECK(header->entries.size() == parsed->tensors.size(), "%zu entries, %zu tensors",
             header->entries.size(), parsed->tensors.size());
  for (const auto& [name, t] : parsed->tensors) {
    monoroute::fuzz::CheckTensorInBounds(name, t);
  }
  // Round trip: what was accepted is written back and read to the same tensors and metadata.
  auto again = monoroute::SerializeSafetensors(parsed->tensors, parsed->metadata);
  FUZZ_CHECK(again.ok(), "accepted file does not serialise: %s", again.status().ToString().c_str());
  auto reparsed = monoroute::ParseSafetensors(*again, "fuzz.roundtrip");
  FUZZ_CHECK(reparsed.ok(), "serialised file is rejected: %s",
             reparsed.status().ToString().c_str());
  FUZZ_CHECK(reparsed->metadata == parsed->metadata, "metadata changed in the round trip");
  FUZZ_CHECK(reparsed->tensors.size() == parsed->tensors.size(), "tensor count changed");
  for (const auto& [name, t] : parsed->tensors) {
    auto it = reparsed->tensors.find(name);
    FUZZ_CHECK(it != reparsed->tensors.end() && SameBytes(t, it->second),
               "tensor '%s' changed in the round trip", name.c_str());
  }
  return 0;
}
