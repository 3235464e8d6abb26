// The torchrun / Kubeflow PyTorchJob environment of a data-parallel rank (MASTER_ADDR,
// MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE): reading it, and writing it for a
// launcher. Torch-free (distributed.h has the process group).
#ifndef MONOROUTE_COMMON_ENGINE_DISTRIBUTED_ENV_H_
#define MONOROUTE_COMMON_ENGINE_DISTRIBUTED_ENV_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace monoroute::engine {

// Where this process sits in a data-parallel job (the launcher's environment).
struct DistributedEnv {
  // Global rank in [0, world_size).
  int rank = 0;
  // Number of ranks of the job.
  int world_size = 1;
  // Rank on this node (the CUDA device index of a CUDA job).
  int local_rank = 0;
  // Ranks on this node (LOCAL_WORLD_SIZE; world_size when unset).
  int local_world_size = 1;
  // Host of rank 0's TCPStore.
  std::string master_addr = "127.0.0.1";
  // Port of rank 0's TCPStore.
  int master_port = 29500;
};

// Reads MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK (and LOCAL_WORLD_SIZE) from the
// environment. nullopt when neither WORLD_SIZE nor RANK is set (a plain single-process run).
// INVALID_ARGUMENT naming the variable when one is missing or malformed. Thread-safe.
absl::StatusOr<std::optional<DistributedEnv>> DistributedEnvFromEnvironment();

// The environment variables of rank `rank` of `env`'s job (for launchers): MASTER_ADDR,
// MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE as "NAME=value" strings.
std::vector<std::string> DistributedEnvironment(const DistributedEnv& env);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_DISTRIBUTED_ENV_H_
