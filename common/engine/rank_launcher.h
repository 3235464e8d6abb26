// Launching the ranks of a data-parallel job on this machine, like torchrun --nproc-per-node:
// N child processes of one command, each with its rank's environment (MASTER_ADDR, MASTER_PORT,
// WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE), their output merged line by line with a
// "[rank R] " prefix, SIGINT / SIGTERM forwarded, and every rank stopped when one fails.
// Used by `monoroute train --nproc-per-node N` and by the trainer's distributed jobs. Torch-free.
#ifndef MONOROUTE_COMMON_ENGINE_RANK_LAUNCHER_H_
#define MONOROUTE_COMMON_ENGINE_RANK_LAUNCHER_H_

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace monoroute::engine {

// Options of RunLocalRanks.
struct LocalRanksOptions {
  // The command every rank runs: argv[0] (a path, or a name looked up in PATH) and arguments.
  std::vector<std::string> argv;
  // Ranks to start (WORLD_SIZE = LOCAL_WORLD_SIZE = nproc), >= 1.
  int nproc = 1;
  // Rendezvous address given to the ranks (rank 0 serves the store there).
  std::string master_addr = "127.0.0.1";
  // Rendezvous port; 0 picks a free port on master_addr.
  int master_port = 0;
  // More "NAME=value" entries for every rank's environment (after the rank's own).
  std::vector<std::string> extra_env;
  // Where the ranks' prefixed output goes (stdout and stderr merged per rank); null: discarded.
  std::ostream* out = nullptr;
  // Forward SIGINT / SIGTERM received by this process to the ranks while they run (the
  // process's own handlers are restored afterwards).
  bool forward_signals = true;
  // Polled about every 100 ms: true sends SIGTERM to every rank once (a cancel).
  std::function<bool()> should_stop;
  // After a rank failed (or a stop), how long the others get before SIGKILL.
  std::chrono::milliseconds stop_grace{std::chrono::seconds(30)};
};

// What happened to the ranks.
struct LocalRanksResult {
  // The rendezvous port used.
  int master_port = 0;
  // Exit description per rank: "exit code 0", "exit code 1", "killed by SIGKILL", ...
  std::vector<std::string> exits;
  // Every rank exited with code 0.
  bool ok = false;
  // The first rank that failed (-1 when none) and its exit description.
  int failed_rank = -1;
  std::string failure;
};

// Starts the ranks and waits for all of them. INVALID_ARGUMENT for bad options, INTERNAL when a
// process cannot be started; a rank that fails is not an error of this call (see the result).
// Blocking; one call at a time per process when forward_signals is set.
absl::StatusOr<LocalRanksResult> RunLocalRanks(const LocalRanksOptions& options);

// A TCP port that was free on `addr` a moment ago (bind to port 0).
absl::StatusOr<int> PickFreePort(const std::string& addr);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_RANK_LAUNCHER_H_
