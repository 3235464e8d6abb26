// Data parallelism for `monoroute bench train --nproc-per-node N` (CPU): the launcher that runs
// the baseline (1 rank x N*t threads) and the data-parallel run (N ranks x t threads, the same
// global batch) and prints their tokens/s side by side, and the per-rank hooks of the step
// (GLBL counts summed over ranks, gradients averaged: what the training engine does).
#ifndef MONOROUTE_CLIENTS_CLI_BENCH_TRAIN_RANKS_H_
#define MONOROUTE_CLIENTS_CLI_BENCH_TRAIN_RANKS_H_

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/engine/distributed.h"

namespace monoroute::cli {

// Runs this process's command line again (without --nproc-per-node, --threads, --json): once as
// one process with nproc x threads_per_rank threads, then as nproc ranks (torchrun environment)
// with threads_per_rank threads each; prints both tokens/s and the ratio (with `json`, one JSON
// object as the last line).
absl::Status RunBenchTrainRanks(int nproc, int threads_per_rank, bool json);

// This process's rank of a data-parallel bench (null when WORLD_SIZE is unset or 1).
absl::StatusOr<std::unique_ptr<engine::DistributedContext>> BenchRanksFromEnvironment();

// Sums `counts` over the ranks in place (one all-reduce); throws std::runtime_error on failure
// (the bench's step runs inside TorchCall).
void SumOverRanks(engine::DistributedContext& dp, std::vector<torch::Tensor>& counts);
// Averages the gradients of `params` over the ranks; throws std::runtime_error on failure.
void AverageOverRanks(engine::DistributedContext& dp, const std::vector<torch::Tensor>& params);

}  // namespace monoroute::cli

#endif  // MONOROUTE_CLIENTS_CLI_BENCH_TRAIN_RANKS_H_
