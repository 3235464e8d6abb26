// Checkpoint directory listing, atomic commit and pruning.
#include "common/engine/checkpoint_dir.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/engine/job_resources.h"

namespace monoroute::engine {
namespace {

namespace fs = std::filesystem;
constexpr char kPrefix[] = "step-";

void FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

std::string CheckpointRoot(const std::string& output_dir) {
  return (fs::path(output_dir) / "checkpoints").string();
}

std::vector<std::pair<int64_t, std::string>> ListCheckpoints(const std::string& output_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  fs::directory_iterator it(CheckpointRoot(output_dir), ec);
  if (ec) return out;
  for (const auto& e : it) {
    std::string name = e.path().filename().string();
    int64_t step = 0;
    if (name.rfind(kPrefix, 0) == 0 && e.is_directory(ec) &&
        absl::SimpleAtoi(name.substr(sizeof(kPrefix) - 1), &step)) {
      out.emplace_back(step, e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::pair<int64_t, std::string>> LatestCheckpoint(const std::string& output_dir) {
  auto all = ListCheckpoints(output_dir);
  if (all.empty()) return std::nullopt;
  return all.back();
}

std::string CheckpointDir(const std::string& output_dir, int64_t step) {
  return (fs::path(CheckpointRoot(output_dir)) / absl::StrFormat("%s%08d", kPrefix, step)).string();
}

absl::StatusOr<std::string> MakeStagingDir(const std::string& output_dir, int64_t step) {
  std::string root = CheckpointRoot(output_dir);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", root, ": ", ec.message()));
  std::string dir =
      (fs::path(root) / absl::StrFormat(".tmp-%s%08d-%d", kPrefix, step, ::getpid())).string();
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  return dir;
}

absl::StatusOr<std::string> CommitCheckpoint(const std::string& staging,
                                             const std::string& output_dir, int64_t step,
                                             int keep) {
  std::string root = CheckpointRoot(output_dir);
  std::string final_dir = CheckpointDir(output_dir, step);
  std::error_code ec;
  if (fs::exists(final_dir, ec)) {
    // Move the old one aside first so a crash never leaves no checkpoint of this step.
    std::string old = absl::StrCat(staging, ".old");
    fs::rename(final_dir, old, ec);
    if (ec)
      return absl::InternalError(absl::StrCat("cannot replace ", final_dir, ": ", ec.message()));
    fs::rename(staging, final_dir, ec);
    fs::remove_all(old);
  } else {
    fs::rename(staging, final_dir, ec);
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot rename ", staging, " to ", final_dir, ": ", ec.message()));
  }
  FsyncDir(root);
  auto all = ListCheckpoints(output_dir);
  for (size_t i = 0; i + keep < all.size(); ++i) fs::remove_all(all[i].second, ec);
  return final_dir;
}

std::string FreeSpaceText(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) {
    return absl::StrCat("free space of ", path, " unknown: ", std::strerror(errno));
  }
  const double unit = static_cast<double>(st.f_frsize);
  return absl::StrCat(FormatBytes(unit * static_cast<double>(st.f_bavail)), " free of ",
                      FormatBytes(unit * static_cast<double>(st.f_blocks)),
                      " on the file system of ", path);
}

absl::Status CheckpointWriteError(const absl::Status& error, const std::string& output_dir,
                                  int64_t step) {
  if (error.ok()) return error;
  const std::string root = CheckpointRoot(output_dir);
  std::error_code ec;
  const std::string where = fs::exists(root, ec) ? root : output_dir;
  return absl::Status(error.code(),
                      absl::StrCat("checkpoint of step ", step, " into ", root,
                                   " failed: ", error.message(), " (", FreeSpaceText(where), ")"));
}

void RemoveStaleStaging(const std::string& output_dir) {
  std::error_code ec;
  fs::directory_iterator it(CheckpointRoot(output_dir), ec);
  if (ec) return;
  std::vector<fs::path> stale;
  for (const auto& e : it) {
    if (e.path().filename().string().rfind(".tmp-", 0) == 0) stale.push_back(e.path());
  }
  for (const auto& p : stale) fs::remove_all(p, ec);
}

}  // namespace monoroute::engine
