// SHA-256 for data-cache manifests (hashes of source files and tokenizer files) and job
// fingerprints: a thin wrapper of OpenSSL's EVP digest interface (libcrypto), hex output.
#ifndef MONOROUTE_COMMON_ENGINE_SHA256_H_
#define MONOROUTE_COMMON_ENGINE_SHA256_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace monoroute::engine {

// Incremental SHA-256 (EVP_sha256). Not thread-safe; one instance per hash. Move-only.
class Sha256 {
 public:
  Sha256();
  // Feeds bytes.
  void Update(absl::string_view data);
  // Finishes and returns the lower-case hex digest (64 chars). Call once.
  std::string HexDigest();

 private:
  struct CtxFree {
    void operator()(EVP_MD_CTX* ctx) const;
  };
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
};

// Hex SHA-256 of a string.
std::string Sha256Hex(absl::string_view data);

// Hex SHA-256 of a file's bytes (memory-mapped). NOT_FOUND naming the path if absent.
absl::StatusOr<std::string> Sha256File(const std::string& path);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_SHA256_H_
