// Small file helpers returning absl::Status errors that name the path.
#ifndef MONOROUTE_COMMON_BASE_FILE_UTIL_H_
#define MONOROUTE_COMMON_BASE_FILE_UTIL_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace monoroute {

// Reads a whole file into a string. NOT_FOUND if it does not exist.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` atomically (temp file + fsync + rename).
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data);

// A read-only memory map of a whole file. Move-only; unmaps on destruction. Thread-compatible:
// the mapped bytes are immutable and may be read from any thread.
class MappedFile {
 public:
  static absl::StatusOr<MappedFile> Open(const std::string& path);
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_BASE_FILE_UTIL_H_
