// One-JSON-file-per-job store.
#include "services/trainer/job_store.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"

namespace monoroute::trainer {

namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Create(const JobStoreOptions& options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("job store: dir is empty");
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("job store: cannot create ", options.dir, ": ", ec.message()));
  }
  return std::unique_ptr<JobStore>(new JobStore(options.dir));
}

absl::Status JobStore::Put(const JobRecord& job) {
  return WriteFileAtomic((fs::path(dir_) / (job.id + ".json")).string(), JobToJson(job));
}

absl::StatusOr<std::vector<JobRecord>> JobStore::LoadAll() const {
  std::vector<JobRecord> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (absl::StrContains(name, ".tmp.")) {  // leftover of an interrupted atomic write
      fs::remove(entry.path(), ec);
      continue;
    }
    if (!absl::EndsWith(name, ".json")) continue;
    ASSIGN_OR_RETURN(std::string text, ReadFile(entry.path().string()));
    ASSIGN_OR_RETURN(JobRecord job, JobFromJson(text, entry.path().string()));
    out.push_back(std::move(job));
  }
  if (ec)
    return absl::InternalError(absl::StrCat("job store: cannot list ", dir_, ": ", ec.message()));
  std::sort(out.begin(), out.end(),
            [](const JobRecord& a, const JobRecord& b) { return a.seq < b.seq; });
  return out;
}

}  // namespace monoroute::trainer
