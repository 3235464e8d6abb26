// Test support shared by every suite: a self-removing temporary directory and whole-file text
// helpers. Header-only (include "tests/testing/temp_files.h"). Not thread-safe per object.
#ifndef MONOROUTE_TESTS_TESTING_TEMP_FILES_H_
#define MONOROUTE_TESTS_TESTING_TEMP_FILES_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace monoroute::testing {

// A fresh directory under the system temp dir (named <prefix>_XXXXXX), removed with its contents
// on destruction. path() is "" when it could not be created.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "monoroute_test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "_XXXXXX")).string();
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty() && !keep_) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path()/name.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }
  // Leaves the directory in place on destruction (e.g. for a failed test's logs).
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// The whole file ("" when unreadable).
inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `text` to `path` (truncating).
inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The last `max_bytes` of a file (for failure messages).
inline std::string Tail(const std::string& path, size_t max_bytes = 600) {
  const std::string t = ReadText(path);
  return t.size() > max_bytes ? t.substr(t.size() - max_bytes) : t;
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_TEMP_FILES_H_
