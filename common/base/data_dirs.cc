// Data directory resolution (see data_dirs.h).
#include "common/base/data_dirs.h"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#ifndef MONOROUTE_SOURCE_DIR
#define MONOROUTE_SOURCE_DIR ""
#endif
#ifndef MONOROUTE_BINARY_DIR
#define MONOROUTE_BINARY_DIR ""
#endif

namespace monoroute {
namespace {

namespace fs = std::filesystem;

struct ResourceInfo {
  const char* name;        // under share/monoroute
  const char* env;         // per-resource override
  const char* source_rel;  // path inside the source checkout
};

ResourceInfo Info(DataResource r) {
  switch (r) {
    case DataResource::kGpt2:
      return {"gpt2", "MONOROUTE_TOKENIZER_DIR", "third_party/gpt2"};
    case DataResource::kLexicon:
      return {"lexicon", "MONOROUTE_LEXICON_DIR", "data/lexicon"};
    case DataResource::kLexiconPos:
      return {"lexicon_pos", "MONOROUTE_LEXICON_POS_DIR", "data/lexicon_pos"};
    case DataResource::kExamples:
      return {"examples", "MONOROUTE_EXAMPLES_DIR", "examples"};
  }
  return {"?", "", ""};
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

bool IsDir(const std::string& p) {
  std::error_code ec;
  return !p.empty() && fs::is_directory(p, ec);
}

std::string Normal(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  return (ec ? p : abs).lexically_normal().string();
}

// True when `path` is `dir` or lies below it (both normalised, absolute).
bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir.empty() || path.size() < dir.size() || path.compare(0, dir.size(), dir) != 0) {
    return false;
  }
  return path.size() == dir.size() || path[dir.size()] == '/' || dir.back() == '/';
}

}  // namespace

std::string ExecutableDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty()) return "";
  return exe.parent_path().lexically_normal().string();
}

DataDir ResolveDataDir(DataResource resource) {
  const ResourceInfo info = Info(resource);
  DataDir d;
  d.name = info.name;
  if (std::string v = Env(info.env); IsDir(v)) {
    d.path = Normal(v);
    d.source = std::string("env ") + info.env;
    return d;
  }
  if (std::string v = Env("MONOROUTE_DATA_DIR"); !v.empty() && IsDir(v + "/" + info.name)) {
    d.path = Normal(fs::path(v) / info.name);
    d.source = "env MONOROUTE_DATA_DIR";
    return d;
  }
  const std::string exe_dir = ExecutableDir();
  const std::string installed =
      exe_dir.empty() ? std::string()
                      : Normal(fs::path(exe_dir) / ".." / "share" / "monoroute" / info.name);
  if (IsDir(installed)) {
    d.path = installed;
    d.source = "install";
    return d;
  }
  const std::string build_dir = Normal(MONOROUTE_BINARY_DIR);
  const std::string source = std::string(MONOROUTE_SOURCE_DIR).empty()
                                 ? std::string()
                                 : Normal(fs::path(MONOROUTE_SOURCE_DIR) / info.source_rel);
  if (!std::string(MONOROUTE_BINARY_DIR).empty() && IsUnder(exe_dir, build_dir) && IsDir(source)) {
    d.path = source;
    d.source = "source tree";
    return d;
  }
  d.path = installed.empty() ? Normal(fs::path("share") / "monoroute" / info.name) : installed;
  d.source = "missing";
  return d;
}

std::string DataDirPath(DataResource resource) { return ResolveDataDir(resource).path; }

std::vector<DataDir> ResolveAllDataDirs() {
  std::vector<DataDir> out;
  for (DataResource r : {DataResource::kGpt2, DataResource::kLexicon, DataResource::kLexiconPos,
                         DataResource::kExamples}) {
    out.push_back(ResolveDataDir(r));
  }
  return out;
}

}  // namespace monoroute
