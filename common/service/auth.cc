// Strict bearer-token parsing and constant-time comparison shared by the three services.
#include "common/service/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/service/grpc_status.h"

namespace monoroute {
namespace {

constexpr absl::string_view kScheme = "Bearer ";

bool IsTokenChar(char c) { return c >= 0x21 && c <= 0x7e; }

}  // namespace

absl::StatusOr<absl::string_view> ParseBearer(absl::string_view value) {
  if (value.substr(0, kScheme.size()) != kScheme) {
    return absl::UnauthenticatedError(
        "malformed authorization metadata: expected exactly 'Bearer <token>'");
  }
  absl::string_view token = value.substr(kScheme.size());
  if (token.empty()) {
    return absl::UnauthenticatedError("malformed authorization metadata: empty bearer token");
  }
  for (char c : token) {
    if (!IsTokenChar(c)) {
      return absl::UnauthenticatedError(
          "malformed authorization metadata: the bearer token holds a space or control "
          "character (expected exactly 'Bearer <token>')");
    }
  }
  return token;
}

bool TokensEqual(absl::string_view a, absl::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

absl::Status ValidateToken(const std::string& where, absl::string_view token) {
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": the token is empty"));
  for (char c : token) {
    if (!IsTokenChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where,
                       ": the token holds a space or control character (use e.g. "
                       "`openssl rand -hex 32`)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& flag, const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": cannot read: ", text.status().message()));
  }
  std::string token(absl::StripAsciiWhitespace(*text));
  absl::Status valid = ValidateToken(absl::StrCat(flag, " ", path), token);
  if (!valid.ok()) return valid;
  return token;
}

absl::Status BearerAuth::CheckValues(const std::vector<absl::string_view>& values,
                                     RpcAccess access) const {
  if (!enabled()) return absl::OkStatus();
  if (access == RpcAccess::kRead && !options_.auth_reads) return absl::OkStatus();
  if (values.empty()) {
    return absl::UnauthenticatedError("missing 'authorization: Bearer <token>' metadata");
  }
  if (values.size() > 1) {
    return absl::UnauthenticatedError("more than one authorization metadata value");
  }
  absl::StatusOr<absl::string_view> token = ParseBearer(values[0]);
  if (!token.ok()) return token.status();
  if (!TokensEqual(*token, options_.token)) {
    return absl::UnauthenticatedError("invalid bearer token");
  }
  return absl::OkStatus();
}

absl::Status BearerAuth::Check(const grpc::ServerContextBase& ctx, RpcAccess access) const {
  if (!enabled()) return absl::OkStatus();
  std::vector<absl::string_view> values;
  auto range = ctx.client_metadata().equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    values.emplace_back(it->second.data(), it->second.size());
  }
  return CheckValues(values, access);
}

grpc::Status BearerAuth::CheckGrpc(const grpc::ServerContextBase& ctx, RpcAccess access) const {
  return ToGrpcStatus(Check(ctx, access));
}

std::string BearerAuth::Describe() const {
  if (!enabled()) return "no auth";
  return options_.auth_reads ? "auth on every RPC" : "auth on writes";
}

}  // namespace monoroute
