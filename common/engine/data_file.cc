// CheckDataFile / ReadDataFilePrefix: stat + S_IS* before opening, O_NONBLOCK open, pread loop.
#include "common/engine/data_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace monoroute::engine {
namespace {

// The error for a non-regular file of mode `mode`, or OK for a regular file.
absl::Status CheckMode(const std::string& field, const std::string& path, mode_t mode) {
  const char* what = nullptr;
  if (S_ISREG(mode)) return absl::OkStatus();
  if (S_ISDIR(mode)) {
    what = "a directory";
  } else if (S_ISFIFO(mode)) {
    what = "a FIFO";
  } else if (S_ISSOCK(mode)) {
    what = "a socket";
  } else if (S_ISCHR(mode) || S_ISBLK(mode)) {
    what = "a device";
  } else {
    what = "not a regular file";
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", path, " is ", what, " (a regular text file is required)"));
}

}  // namespace

absl::StatusOr<int64_t> CheckDataFile(const std::string& field, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == EACCES) {
      return absl::PermissionDeniedError(absl::StrCat(field, ": file not readable: ", path));
    }
    return absl::NotFoundError(absl::StrCat(field, ": file not found: ", path));
  }
  if (absl::Status s = CheckMode(field, path, st.st_mode); !s.ok()) return s;
  if (::access(path.c_str(), R_OK) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(field, ": file not readable: ", path));
  }
  return static_cast<int64_t>(st.st_size);
}

absl::StatusOr<std::string> ReadDataFilePrefix(const std::string& field, const std::string& path,
                                               int64_t n) {
  if (absl::StatusOr<int64_t> size = CheckDataFile(field, path); !size.ok()) {
    return size.status();
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat(field, ": cannot open ", path, ": ", std::strerror(errno)));
  }
  struct stat st;
  absl::Status status;
  std::string out;
  if (::fstat(fd, &st) != 0) {
    status = absl::InternalError(absl::StrCat(field, ": cannot stat ", path));
  } else {
    status = CheckMode(field, path, st.st_mode);
  }
  if (status.ok()) {
    out.resize(static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>(n, st.st_size))));
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t r = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        status = absl::DataLossError(
            absl::StrCat(field, ": read error in ", path, ": ", std::strerror(errno)));
        break;
      }
      if (r == 0) break;  // the file shrank meanwhile
      done += static_cast<size_t>(r);
    }
    out.resize(done);
  }
  ::close(fd);
  if (!status.ok()) return status;
  return out;
}

}  // namespace monoroute::engine
