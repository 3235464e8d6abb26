// Persistent store of job records: one JSON file per job in <data-dir>/store/, written atomically
// (temp file + fsync + rename), so a SIGKILL never leaves a half-written record.
#ifndef MONOROUTE_SERVICES_TRAINER_JOB_STORE_H_
#define MONOROUTE_SERVICES_TRAINER_JOB_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/trainer/job.h"

namespace monoroute::trainer {

struct JobStoreOptions {
  // Directory holding the records (created if missing).
  std::string dir;
};

// Thread-compatible: JobManager serialises access under its own mutex.
class JobStore {
 public:
  static absl::StatusOr<std::unique_ptr<JobStore>> Create(const JobStoreOptions& options);

  // Writes (creates or replaces) the record of job.id.
  absl::Status Put(const JobRecord& job);
  // Reads every record, in submission order (seq). A malformed file is an error naming it.
  absl::StatusOr<std::vector<JobRecord>> LoadAll() const;

  const std::string& dir() const { return dir_; }

 private:
  explicit JobStore(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace monoroute::trainer

#endif  // MONOROUTE_SERVICES_TRAINER_JOB_STORE_H_
