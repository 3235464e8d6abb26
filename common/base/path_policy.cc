// Allowed-root checks for request paths.
#include "common/base/path_policy.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/bounded_text.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;

// Longest quoted path in an error message.
constexpr size_t kMaxQuotedPath = 256;

// Resolves symlinks of the existing prefix and normalises the rest lexically.
fs::path Resolve(const fs::path& p) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(p, ec);
  if (ec) r = p.lexically_normal();
  return r.lexically_normal();
}

bool IsWithin(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r) {
    if (r->empty()) continue;  // trailing separator
    if (p == path.end() || *p != *r) return false;
    ++p;
  }
  return true;
}

}  // namespace

absl::Status CheckPathAllowed(const std::string& field, const std::string& path,
                              const std::vector<std::string>& allowed_roots) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": path is empty"));
  fs::path p(path);
  if (!p.is_absolute()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": path '", BoundedText(path, kMaxQuotedPath),
                     "' must be absolute (the server has its own working directory)"));
  }
  if (allowed_roots.empty()) return absl::OkStatus();
  fs::path resolved = Resolve(p);
  for (const std::string& root : allowed_roots) {
    if (IsWithin(resolved, Resolve(fs::path(root)))) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(field, ": path '", BoundedText(path, kMaxQuotedPath),
                   "' is outside the allowed roots [", absl::StrJoin(allowed_roots, ", "), "]"));
}

}  // namespace monoroute
