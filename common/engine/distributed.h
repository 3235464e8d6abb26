// Data-parallel training on LibTorch's c10d: the torchrun / Kubeflow PyTorchJob environment
// (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK), rendezvous through a c10d TCPStore at
// the master, a Gloo (CPU) or NCCL (CUDA) process group, and the few collectives the training loop
// needs, each returning absl::Status. A failed collective is diagnosed through the store, so the
// error names the rank that died or failed. World size 1 has no store and no process group: every
// call returns at once.
#ifndef MONOROUTE_COMMON_ENGINE_DISTRIBUTED_H_
#define MONOROUTE_COMMON_ENGINE_DISTRIBUTED_H_

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/engine/distributed_env.h"

namespace monoroute::engine {

// Options of DistributedContext::Create.
struct DistributedOptions {
  // Bound on the rendezvous, on each collective and on the agreement points (Agree): a peer
  // that does not arrive within it fails the job with an error naming that peer.
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};
  // How long a rank whose collective failed waits for the other ranks to answer the census that
  // tells which rank is gone (bounded by `timeout`).
  std::chrono::milliseconds census_window{std::chrono::seconds(10)};
  // NCCL (CUDA tensors, device cuda:local_rank) instead of Gloo (CPU tensors).
  bool cuda = false;
  // Fingerprint of the job (e.g. a hash of its spec): ranks with different fingerprints refuse to
  // train together (FAILED_PRECONDITION naming the rank). Empty: not checked.
  std::string job_fingerprint;
};

// A data-parallel job's communication: rank, world size, the process group and the collectives.
// Not thread-safe: one training loop per context. All collectives must be called by every rank in
// the same order (the training loop's deterministic schedule ensures it).
class DistributedContext {
 public:
  // A world of one: no store, no process group, every collective a no-op.
  static std::unique_ptr<DistributedContext> Single();
  // Rendezvous at env.master_addr:master_port (rank 0 hosts the TCPStore), then the process
  // group. DEADLINE_EXCEEDED naming the ranks that never arrived; UNAVAILABLE when the master
  // cannot be reached; FAILED_PRECONDITION when the ranks' fingerprints differ. A world of one
  // returns Single().
  static absl::StatusOr<std::unique_ptr<DistributedContext>> Create(
      const DistributedEnv& env, const DistributedOptions& options);
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  int local_rank() const { return env_.local_rank; }
  const DistributedEnv& env() const { return env_; }
  // Rank 0 writes checkpoints, metrics and progress.
  bool is_primary() const { return env_.rank == 0; }
  bool is_distributed() const { return env_.world_size > 1; }

  // Sums each tensor over the ranks, in place (all ranks end with identical values); tensors of
  // one dtype and device (several go through one flat buffer). `what` names the collective in
  // errors.
  absl::Status AllReduceSum(std::vector<torch::Tensor>& tensors, const std::string& what);
  // Replaces every gradient of `params` by its mean over the ranks: flattened into buckets of at
  // most `bucket_bytes`, summed, divided by the world size. An undefined gradient counts as zeros
  // (and becomes defined), so every rank reduces the same layout.
  absl::Status AverageGradients(const std::vector<torch::Tensor>& params,
                                int64_t bucket_bytes = int64_t{25} << 20);
  // Copies rank 0's values of `tensors` into every rank's (in place).
  absl::Status Broadcast(std::vector<torch::Tensor>& tensors, const std::string& what);
  // True on every rank when `mine` is true on any rank.
  absl::StatusOr<bool> Any(bool mine, const std::string& what);
  // An agreement point through the store (no collective timeout of the process group, so a slow
  // phase such as tokenising or writing a checkpoint is bounded by options.timeout alone): every
  // rank passes its own status of phase `tag` (unique per call); returns `mine` if it failed,
  // else the first failed rank's error prefixed "rank R: ", else OK. A rank that does not arrive
  // within the timeout is DEADLINE_EXCEEDED naming it.
  // `at_least` raises the wait for a phase known to be long (e.g. building the token cache).
  absl::Status Agree(const absl::Status& mine, const std::string& tag,
                     std::chrono::milliseconds at_least = std::chrono::milliseconds(0));
  // Tells the other ranks (through the store, best effort) that this rank is failing with
  // `status`, so their errors name it and quote it.
  void ReportFailure(const absl::Status& status);

  class Impl;

 private:
  explicit DistributedContext(DistributedEnv env);
  DistributedEnv env_;
  std::unique_ptr<Impl> impl_;  // null when world_size == 1
};

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_DISTRIBUTED_H_
