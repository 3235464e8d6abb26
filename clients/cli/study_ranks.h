// Running one study job as N local data-parallel ranks with rank 0 in this process: the other
// ranks are child processes of `monoroute train --config SPEC` with torchrun's environment, and
// this process joins as rank 0 (MASTER_ADDR / MASTER_PORT / WORLD_SIZE / RANK set while it runs),
// so the study's own observer sees rank 0's routing events, applies its stopping rule (any rank's
// stop stops every rank at the same step) and gets the global batch's step reports.
#ifndef MONOROUTE_CLIENTS_CLI_STUDY_RANKS_H_
#define MONOROUTE_CLIENTS_CLI_STUDY_RANKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/engine/job_spec.h"
#include "common/engine/train.h"
#include "common/engine/training_observer.h"

namespace monoroute::cli {

// Options of RunStudyJob.
struct StudyRanksOptions {
  // Local ranks (1: everything in this process, no children).
  int nproc = 1;
  // Command of ranks 1..nproc-1; "--config <spec_path>" is appended. Default: this executable's
  // `train` subcommand (tests name the built `monoroute` binary).
  std::vector<std::string> rank_command = {"/proc/self/exe", "train"};
  // Each child's output goes to <log_dir>/rank<R>.log.
  std::string log_dir;
};

// Runs `spec` (loaded from `spec_path`: every rank must see the same spec) with `observer` on
// rank 0. The children are stopped when rank 0 fails; an error names a failed child and the
// tail of its log.
absl::StatusOr<engine::TrainResult> RunStudyJob(const engine::JobSpec& spec,
                                                const std::string& spec_path,
                                                const StudyRanksOptions& options,
                                                engine::TrainingObserver* observer);

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_STUDY_RANKS_H_
