// Callbacks through which a training job reports progress, evaluations, routing decisions and
// checkpoints, and is asked whether to stop. Used by `monoroute train` (progress bar + metrics log)
// and by the trainer service (gRPC streams + recorder upload). Torch-free.
#ifndef MONOROUTE_COMMON_ENGINE_TRAINING_OBSERVER_H_
#define MONOROUTE_COMMON_ENGINE_TRAINING_OBSERVER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/events/routing_event_batch.h"

namespace monoroute::engine {

// Load statistics of one routed layer over one optimizer step.
struct LayerBalance {
  // Transformer block index of the routed layer (e.g. 0, 2, 4, 6).
  int layer = 0;
  // Fraction of top-k assignments per pathway over the step (sums to 1).
  std::vector<double> load;
  // MaxVio = (max load - mean load) / mean load.
  double max_violation = 0.0;
  // Entropy (nats) of `load`; log(num_pathways) when perfectly balanced.
  double load_entropy = 0.0;
  // This layer's balancing loss (before alpha), averaged over the step's micro-batches.
  double balance_loss = 0.0;
};

// One logged optimizer step (every spec.log_every steps and the last one).
struct StepReport {
  // Optimizer steps done (1-based after the first step).
  int64_t step = 0;
  int64_t total_steps = 0;
  // Mean LM cross-entropy (nats/token) over the step's micro-batches.
  double lm_loss = 0.0;
  // alpha-free mean balancing loss over routed layers (0 when dense).
  double balance_loss = 0.0;
  // lm_loss + alpha * balance_loss.
  double total_loss = 0.0;
  // Learning rate used for this step.
  double lr = 0.0;
  // Training throughput since the job (re)started.
  double tokens_per_s = 0.0;
  // Estimated seconds to the last step.
  double eta_s = 0.0;
  // Training tokens consumed since step 0 (including before a resume).
  int64_t tokens_seen = 0;
  // Per routed layer (empty when dense).
  std::vector<LayerBalance> balance;
  // Data-parallel ranks that trained the step (1: one process). Losses, loads and tokens are the
  // global batch's, whatever the world size.
  int world_size = 1;
};

// One evaluation over the validation split.
struct EvalReport {
  int64_t step = 0;
  // Mean cross-entropy (nats/token).
  double val_loss = 0.0;
  // exp(val_loss).
  double perplexity = 0.0;
  // "valid".
  std::string split;
  // Validation sequences evaluated (all ranks together).
  int64_t sequences = 0;
  // Per routed layer, the load balance of the evaluation's routing (whole evaluated split: a
  // steadier MaxVio than one training step's); `balance_loss` is unused (0). Empty when dense.
  std::vector<LayerBalance> balance;
};

// Which part of a job runs now, with its own progress where it has one. Phases, in order:
// "pretokenising" (building or checking the token caches), "training" (done / total = optimizer
// steps), "final_eval" (done / total = validation batches), "recording_controls" (the control
// passes of a routed job that records events), "uploading" (delivering queued routing events).
struct PhaseReport {
  std::string phase;
  // Units done and in all; 0 / 0 for a phase without a count.
  int64_t done = 0;
  int64_t total = 0;
};

// The shape of a job's run, known once its model is built: what a recorder run is declared with.
struct RunShape {
  // Transformer blocks of the model.
  int num_layers = 0;
  // Vocabulary size of the model.
  int vocab_size = 0;
  // Layers whose events are reported, ascending: the routed layers of a routed job; for a dense
  // job the layers its neuron-slice probe reports (empty when the routing shape does not fit).
  std::vector<int> routed_layers;
  // Pathways (or neuron slices) per reported layer and the top_k of each event.
  int num_pathways = 0;
  int top_k = 0;
  // Whether the model itself is routed.
  bool routed = false;
  // This process's rank and the job's world size (data parallelism; 0 and 1 for one process).
  int rank = 0;
  int world_size = 1;
};

// Observer of a training job. All callbacks run on the training thread; keep them cheap (queue
// heavy work elsewhere). The job does not own the observer.
class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  // Called once, before OnStart and before any routing event, on every rank (e.g. to declare a
  // recorder run). An error fails the job before its first step.
  virtual absl::Status OnRunShape(const RunShape& shape) { return absl::OkStatus(); }
  // OnStart, OnStep, OnEval and OnCheckpoint are called on rank 0 only (their figures are the
  // global batch's); OnRunShape, OnRoutingEvents (each rank its own share) and ShouldStop (any
  // rank's true stops every rank at the same step) on every rank.
  // Called once before the first step; start_step > 0 when resuming.
  virtual void OnStart(int64_t start_step, int64_t total_steps) {}
  // Called every log_every steps and after the last step.
  virtual void OnStep(const StepReport& r) {}
  // Called after each evaluation (periodic and final).
  virtual void OnEval(const EvalReport& r) {}
  // Called when a phase starts and as it advances (rank 0 only; the final evaluation at most
  // ~100 times).
  virtual void OnPhase(const PhaseReport& p) {}
  // Whether OnRoutingEvents should be called (polled once at start).
  virtual bool WantsRoutingEvents() const { return false; }
  // Routing decisions of sampled train steps and of the final validation pass: one batch per
  // (micro-batch, routed layer), its header's step, layer, split, top_k and batch_id set, its
  // run_id and writer_id empty (the uploader names them). The batch_id is deterministic: the same
  // (step, micro-batch, layer, split, rank share) always gets the same id, so a resumed job
  // re-sends the same ids (idempotent upload); the ranks of a data-parallel job send distinct
  // ids (training: per rank share; evaluation: per batch).
  virtual void OnRoutingEvents(const events::RoutingEventBatch& b) {}
  // Called after a checkpoint of `step` was written (atomically) to `dir`.
  virtual void OnCheckpoint(int64_t step, const std::string& dir, double seconds) {}
  // Polled every step (and between evaluation batches): true stops the job after writing a
  // checkpoint of the current step (cancel / shutdown).
  virtual bool ShouldStop() { return false; }
  // Called on every rank after this rank's last routing event (also when stopped early): deliver
  // what is queued (e.g. flush an upload). An error fails the job. Every rank's FlushEvents has
  // returned before OnEventsComplete runs.
  virtual absl::Status FlushEvents() { return absl::OkStatus(); }
  // Called on rank 0 once every rank's events are flushed, only when the job completed (not
  // stopped early): e.g. mark the recorder run finished. An error fails the job.
  virtual absl::Status OnEventsComplete() { return absl::OkStatus(); }
};

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_TRAINING_OBSERVER_H_
