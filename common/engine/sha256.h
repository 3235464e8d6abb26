// SHA-256 (FIPS 180-4) for data-cache manifests: hashes of source files and tokenizer files.
#ifndef MONOROUTE_COMMON_ENGINE_SHA256_H_
#define MONOROUTE_COMMON_ENGINE_SHA256_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace monoroute::engine {

// Incremental SHA-256. Not thread-safe; one instance per hash.
class Sha256 {
 public:
  Sha256();
  // Feeds bytes.
  void Update(absl::string_view data);
  // Finishes and returns the lower-case hex digest (64 chars). Call once.
  std::string HexDigest();

 private:
  void Block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

// Hex SHA-256 of a string.
std::string Sha256Hex(absl::string_view data);

// Hex SHA-256 of a file's bytes (memory-mapped). NOT_FOUND naming the path if absent.
absl::StatusOr<std::string> Sha256File(const std::string& path);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_SHA256_H_
