// Helpers shared by the tensor_io tests: a self-deleting temporary directory and file helpers.
#ifndef MONOROUTE_TESTS_COMMON_TENSOR_IO_TEST_UTIL_H_
#define MONOROUTE_TESTS_COMMON_TENSOR_IO_TEST_UTIL_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace monoroute::testing {

// Creates a fresh directory under $TMPDIR (or /tmp); removes it with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/monoroute_tio_XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Directory of the committed fixtures.
inline std::string FixtureDir(const std::string& name) {
  return std::string(MONOROUTE_SOURCE_DIR) + "/tests/fixtures/" + name;
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_COMMON_TENSOR_IO_TEST_UTIL_H_
