// What a training job needs before it runs: the model's shape (from model_dir/config.json or the
// spec), the checks that need it (seq_len vs positions, routed layers vs layer count), and an
// estimate of the job's peak memory (parameters, AdamW state, activations for batch x seq_len x
// layers, the fused LM loss's chunks, step inputs, data, runtime), so the trainer can refuse a job
// at SubmitJob (RESOURCE_EXHAUSTED with the estimate) instead of letting it die mid-run, and
// `monoroute train --print-spec` can print it. Torch-free; thread-safe (pure functions).
#ifndef MONOROUTE_COMMON_ENGINE_JOB_RESOURCES_H_
#define MONOROUTE_COMMON_ENGINE_JOB_RESOURCES_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/engine/job_spec.h"
#include "common/model/model_config.h"

namespace monoroute::engine {

// Architecture facts the checks and the estimate need: the model config (family and sizes,
// intermediate_size resolved) and where it came from.
struct JobModelShape : model::ModelConfig {
  // Where the shape came from ("<model_dir>/config.json", "<model.config_path>" or "model").
  std::string source;
};

// The shape of the job's model: a finetune's model_dir/config.json, a pretrain's
// model.config_path, else the spec's `model` section, for every family (model_type). Reads at most
// one small JSON file (larger than 1 MiB is INVALID_ARGUMENT); errors name the field and file
// (NaN / Infinity as such). Only the family and sizes are read here
// (model::ModelConfig::SizesFromJson); the engine validates the whole config when the job starts.
absl::StatusOr<JobModelShape> ResolveJobModelShape(const JobSpec& spec);

// Checks of the spec against its model: data.seq_len <= max_position_embeddings, every
// routing.layers entry < num_layers, and (routed) intermediate_size divisible by
// routing.num_pathways. INVALID_ARGUMENT naming the field.
absl::Status ValidateJobSpecForModel(const JobSpec& spec, const JobModelShape& shape);

// Run-time facts the estimate depends on.
struct JobResourceOptions {
  // Intra-op threads the job will use (resolved: >= 1).
  int threads = 1;
  // Tokenisation threads (resolved: >= 1).
  int tokenize_threads = 1;
  // Bytes of the training (+ validation) text files; 0 when unknown.
  int64_t data_bytes = 0;
  // Bound of the recorder upload queue in events when the job records events; 0 otherwise.
  int64_t event_queue_events = 0;
};

// Estimated peak memory of a job, in bytes, by component (doubles: absurd specs such as
// batch_size 1e9 must not overflow). On a CUDA device the tensors of the step live in device
// memory: `host_bytes` then counts only what stays on the host.
struct JobResourceEstimate {
  int64_t parameters = 0;            // all parameters (routers included)
  int64_t trainable_parameters = 0;  // routers only with freeze_base
  double weights = 0;                // fp32 parameters
  double gradients = 0;              // one fp32 gradient per trainable parameter
  double optimizer = 0;              // AdamW: two fp32 moments per trainable parameter
  double checkpoint = 0;             // serialisation buffers while a checkpoint is written
  double activations = 0;            // saved for backward: micro-batch x seq_len x layers
  double router_centring = 0;        // the no-grad pass over batch x grad_accum (routed jobs)
  double lm_loss = 0;                // fused LM loss: per-thread [128, V] blocks, grad_W, grad_h
  double step_inputs = 0;            // grad_accum micro-batches of token ids, held per step
  double data = 0;                   // packed tokens of the data files
  double event_queue = 0;            // recorder upload queue
  double runtime = 0;                // LibTorch, BLAS buffers, thread stacks
  double host_bytes = 0;             // peak on the host
  double device_bytes = 0;           // peak on the accelerator (0 on the CPU)
  // The spec fields that drive the largest component (for messages), e.g. "optim.batch_size,
  // data.seq_len".
  std::string dominant_fields;

  // One line: "3.1 GiB (weights 15 MiB, ..., activations 2.9 GiB)".
  std::string Summary() const;
};

// Estimates the job's peak memory. Conservative (measured peaks of small CPU jobs were 10-20%
// below it; docs/trainer.md), never throws or overflows.
JobResourceEstimate EstimateJobResources(const JobSpec& spec, const JobModelShape& shape,
                                         const JobResourceOptions& options);

// Sum of the sizes of data.train_path and data.valid_path (0 for a file that cannot be stat'ed).
int64_t JobDataBytes(const JobSpec& spec);

// RESOURCE_EXHAUSTED when the estimate's host bytes exceed `limit_bytes` (> 0), naming the
// estimate, the limit (`limit_name`, e.g. "--job-memory-limit-mb 4096") and the fields to lower.
absl::Status CheckJobMemory(const JobResourceEstimate& estimate, int64_t limit_bytes,
                            const std::string& limit_name);

// Memory of this machine (or of its cgroup, when that is lower), in bytes.
int64_t MachineMemoryBytes();

// Threads a job runs with: `requested` when > 0, else min(CPUs available, cap) (cap <= 0: none).
int ResolveJobThreads(int requested, int cap);

// "1.5 GiB", "12 MiB", "512 B".
std::string FormatBytes(double bytes);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_JOB_RESOURCES_H_
