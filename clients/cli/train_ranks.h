// `monoroute train --nproc-per-node N`: runs the same command as N local ranks of a data-parallel
// job (engine::RunLocalRanks: torchrun's environment per child, output prefixed by rank, signals
// forwarded, every rank stopped when one fails).
#ifndef MONOROUTE_CLIENTS_CLI_TRAIN_RANKS_H_
#define MONOROUTE_CLIENTS_CLI_TRAIN_RANKS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace monoroute::cli {

// Starts `nproc` children running `monoroute train <train_args>` (the flags of this command
// without --nproc-per-node) with MASTER_ADDR 127.0.0.1, a free MASTER_PORT, WORLD_SIZE nproc,
// RANK = LOCAL_RANK = r, and waits for them. OK when every rank exited 0; otherwise an error
// naming the first rank that failed (its own error is in its prefixed output).
absl::Status RunTrainRanks(const std::vector<std::string>& train_args, int nproc);

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_TRAIN_RANKS_H_
