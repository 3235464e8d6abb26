// The one bearer-token check of the three services. Every write RPC (trainer SubmitJob/CancelJob,
// recorder CreateRun/Record/DeleteRun/FinishRun, analysis Ablate) and, with --auth-reads, every
// read RPC calls BearerAuth::Check first. Parsing is strict (exactly "Bearer " + token), the
// comparison constant-time, and no error message ever contains what the caller sent.
#ifndef MONOROUTE_COMMON_SERVICE_AUTH_H_
#define MONOROUTE_COMMON_SERVICE_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace monoroute {

// Whether an RPC changes state (always checked when a token is set) or only reads (checked
// with AuthOptions::auth_reads).
enum class RpcAccess { kRead, kWrite };

struct AuthOptions {
  // Token the callers must send as "authorization: Bearer <token>"; empty: no check at all.
  std::string token;
  // Read RPCs need the token too (--auth-reads); otherwise only write RPCs do.
  bool auth_reads = false;
};

// Parses an authorization metadata value strictly: exactly "Bearer " (capital B, one space)
// followed by a non-empty token of visible ASCII (0x21-0x7e) and nothing else, so "bearer x",
// "x", "Bearer ", "Bearer  x" and "Bearer x " are all refused. Returns the token (a view into
// `value`) or UNAUTHENTICATED without echoing `value`. Thread-safe (pure).
absl::StatusOr<absl::string_view> ParseBearer(absl::string_view value);

// Compares two tokens in time independent of their contents and lengths (SHA-256 of each, then
// OpenSSL's CRYPTO_memcmp of the digests). Thread-safe (pure).
bool TokensEqual(absl::string_view a, absl::string_view b);

// OK when `token` can be sent in a Bearer header (non-empty visible ASCII); INVALID_ARGUMENT
// naming `where` (e.g. the flag and file) otherwise, without quoting the token.
absl::Status ValidateToken(const std::string& where, absl::string_view token);

// Reads a token file (surrounding whitespace stripped) for flag `flag`; INVALID_ARGUMENT naming
// the flag and the file when it cannot be read, is empty or holds an unusable token.
absl::StatusOr<std::string> ReadTokenFile(const std::string& flag, const std::string& path);

// The check. Immutable after construction, so thread-safe.
class BearerAuth {
 public:
  explicit BearerAuth(AuthOptions options = {}) : options_(std::move(options)) {}

  // True when a token is configured.
  bool enabled() const { return !options_.token.empty(); }
  // True when reads are checked too.
  bool auth_reads() const { return options_.auth_reads; }

  // OK when no token is configured, when `access` is a read and reads are not checked, or when
  // the call carries exactly one "authorization" value equal to "Bearer <token>".
  // UNAUTHENTICATED otherwise (missing, repeated, malformed or wrong), never echoing the value.
  absl::Status Check(const grpc::ServerContextBase& ctx, RpcAccess access) const;

  // Check on the call's "authorization" values (all of them, in order). Used by Check and tests.
  absl::Status CheckValues(const std::vector<absl::string_view>& values, RpcAccess access) const;

  // Check converted to a grpc::Status (for handlers that finish with one).
  grpc::Status CheckGrpc(const grpc::ServerContextBase& ctx, RpcAccess access) const;

  // "auth on writes", "auth on every RPC" or "no auth" (for the startup line).
  std::string Describe() const;

 private:
  AuthOptions options_;
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_AUTH_H_
