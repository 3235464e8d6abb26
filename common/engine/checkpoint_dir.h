// Layout of a job's checkpoints: <output_dir>/checkpoints/step-<8 digits>/ directories, written
// into a hidden staging directory and renamed into place (atomic), the last N kept. A directory
// that exists under its final name is complete. Torch-free.
#ifndef MONOROUTE_COMMON_ENGINE_CHECKPOINT_DIR_H_
#define MONOROUTE_COMMON_ENGINE_CHECKPOINT_DIR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace monoroute::engine {

// <output_dir>/checkpoints
std::string CheckpointRoot(const std::string& output_dir);

// <output_dir>/checkpoints/step-<8 digits>: where CommitCheckpoint puts `step`'s checkpoint.
std::string CheckpointDir(const std::string& output_dir, int64_t step);

// Complete checkpoints (step, path), ascending by step. Empty if none.
std::vector<std::pair<int64_t, std::string>> ListCheckpoints(const std::string& output_dir);

// The latest complete checkpoint, if any.
std::optional<std::pair<int64_t, std::string>> LatestCheckpoint(const std::string& output_dir);

// Creates and returns a fresh staging directory for `step` (under the checkpoint root, hidden,
// unique per process).
absl::StatusOr<std::string> MakeStagingDir(const std::string& output_dir, int64_t step);

// Renames a filled staging directory to its final name (replacing an older checkpoint of the same
// step), then keeps only the newest `keep` checkpoints. Returns the final path.
absl::StatusOr<std::string> CommitCheckpoint(const std::string& staging,
                                             const std::string& output_dir, int64_t step, int keep);

// "<free> free of <size> on the file system of <path>" (statvfs), for messages about a failed
// write; "free space of <path> unknown: <error>" when it cannot be read.
std::string FreeSpaceText(const std::string& path);

// A failed checkpoint write of `step` as the job's error: the code kept (RESOURCE_EXHAUSTED for a
// full disk), the message naming the checkpoint directory, the OS error and the free space.
absl::Status CheckpointWriteError(const absl::Status& error, const std::string& output_dir,
                                  int64_t step);

// Removes staging directories left by a killed run.
void RemoveStaleStaging(const std::string& output_dir);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_CHECKPOINT_DIR_H_
