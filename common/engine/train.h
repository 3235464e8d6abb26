// Entry point of a training job (pretrain or finetune): data pipeline, model, AdamW with warmup +
// cosine, balancing, evaluation, exact checkpoints and resume. Torch-free header.
#ifndef MONOROUTE_COMMON_ENGINE_TRAIN_H_
#define MONOROUTE_COMMON_ENGINE_TRAIN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/engine/job_spec.h"
#include "common/engine/training_observer.h"

namespace monoroute::engine {

// Outcome of RunTrainingJob.
struct TrainResult {
  // Optimizer steps done (== spec.optim.max_steps unless stopped early).
  int64_t final_step = 0;
  // Loss over the whole validation split after the last step (NaN when stopped early).
  double final_val_loss = 0.0;
  // The last checkpoint written (HF-layout directory + trainer_state).
  std::string checkpoint_dir;
  // True when observer->ShouldStop() ended the job.
  bool stopped_early = false;
};

// Runs the job; if spec.output_dir holds a checkpoint, resumes from the latest one exactly (on CPU
// the final weights equal an uninterrupted run bit for bit). Every input is validated before the
// first step (bad values, missing files, a checkpoint of another architecture). After the last
// step, runs a final evaluation over the validation split and (if the observer wants routing
// events and record.eval_split_events) reports them with split "valid". `observer` may be null.
// Blocking; run one job per thread (LibTorch's intra-op thread count is process-wide).
absl::StatusOr<TrainResult> RunTrainingJob(const JobSpec& spec, TrainingObserver* observer);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_TRAIN_H_
