// Training job specification: the YAML schema of `monoroute train --config job.yaml` and the
// trainer's jobs (fields listed once, job_spec_fields.h), its strict parser (bad keys and values
// named by key path), its serialiser, and the file-system checks run before training. Torch-free.
#ifndef MONOROUTE_COMMON_ENGINE_JOB_SPEC_H_
#define MONOROUTE_COMMON_ENGINE_JOB_SPEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/model_config.h"
#include "common/model/routing_config.h"

namespace monoroute::engine {

// Bounds every job spec is held to (ParseJobSpecYaml), so a hostile spec cannot exhaust memory
// or threads while it is parsed, stored or echoed in an error.
// Spec text plus overrides, in bytes (RESOURCE_EXHAUSTED above it).
inline constexpr size_t kMaxJobSpecBytes = size_t{1} << 20;
// YAML nodes (scalars, sequences, maps) of the spec and of each override value. Aliases are
// refused outright (INVALID_ARGUMENT): yaml-cpp expands them, so a ~1 KB "billion laughs" spec
// would otherwise grow without bound.
inline constexpr size_t kMaxJobSpecNodes = 10000;
// Nesting depth of the YAML (the schema needs 3).
inline constexpr int kMaxJobSpecDepth = 32;
// `--set` overrides per parse.
inline constexpr size_t kMaxJobSpecOverrides = 1000;
// `name`, in bytes.
inline constexpr size_t kMaxJobNameBytes = 256;
// Every path field, in bytes (PATH_MAX).
inline constexpr size_t kMaxJobPathBytes = 4096;
// Every other string field (kind, device, format, ...), in bytes.
inline constexpr size_t kMaxJobWordBytes = 64;
// `threads` and `data.tokenize_threads` (servers and the CLI bound them further by the machine).
inline constexpr int kMaxJobThreads = 4096;
// Entries of `routing.layers` and `model.attention_layers`; also bounds `model.num_layers`.
inline constexpr int kMaxJobLayers = 4096;
// Most optimizer steps a job may ask for (optim.max_steps; more is INVALID_ARGUMENT): far beyond
// any real run, small enough that a typo such as 1e18 never holds a worker until cancelled.
inline constexpr int64_t kMaxJobSteps = 1000000000;

// Architecture of a pretrain job's randomly initialised model (YAML section `model`): the model
// config itself (model::ModelConfig, any family, under the canonical names of
// model/config_fields.h) plus where to take it from and how to initialise it. Defaults are the
// TinyStories-1M architecture (GPT-Neo). Ignored by finetune jobs (their architecture comes from
// model_dir/config.json).
struct ModelSection : model::ModelConfig {
  // ModelConfig's defaults, except intermediate_size 0 (= 4 * hidden_size) and
  // activation_function "" (= the family's: gelu_new, GPT-NeoX gelu); attention_layers empty
  // means alternating global, local, ... (GPT-Neo) or all global.
  ModelSection();
  // Optional config.json to take the architecture from; when set, the fields above are ignored.
  std::string config_path;
  // Standard deviation of the normal initialisation of weights.
  double initializer_range = 0.02;
};

// Pathway routing of the MLPs (YAML section `routing`): the model's RoutingConfig (validated by
// RoutingConfig::ValidateValues, and against the model by RoutingConfig::Validate when it is
// built) plus whether the job routes at all.
struct RoutingSection : model::RoutingConfig {
  // Whether the model is routed. Unset means: finetune jobs are routed, pretrain jobs are dense.
  std::optional<bool> enabled;
};

// Training data (YAML section `data`).
struct DataSpec {
  // Training text: plain text (stories separated by `<|endoftext|>` lines, or by blank lines) or
  // JSONL with a `text` field per line.
  std::string train_path;
  // Optional validation file (same format); when empty, `valid_fraction` of the training
  // documents are held out.
  std::string valid_path;
  // Fraction of training documents held out for validation when valid_path is empty, in [0, 1).
  double valid_fraction = 0.05;
  // "auto" (by extension: .jsonl/.json -> jsonl, else text), "text" or "jsonl".
  std::string format = "auto";
  // Tokens per training sequence (windows of seq_len + 1 tokens are cut from the packed stream).
  int seq_len = 128;
  // Seed of the deterministic shuffle (sequence order and validation hold-out).
  uint64_t seed = 0;
  // Tokenizer directory (tokenizer.json, else vocab.json + merges.txt); empty: model_dir if it
  // holds a tokenizer, else the build's default (GPT-2).
  std::string tokenizer_dir;
  // Where the packed token cache lives; empty: <output_dir>/data_cache.
  std::string cache_dir;
  // Tokenisation threads; 0: std::thread::hardware_concurrency().
  int tokenize_threads = 0;
};

// Optimiser and schedule (YAML section `optim`).
struct OptimSpec {
  // Peak learning rate (> 0).
  double lr = 1e-3;
  // Decoupled weight decay of AdamW (>= 0).
  double weight_decay = 0.01;
  // AdamW betas, each in [0, 1).
  double beta1 = 0.9;
  double beta2 = 0.999;
  // AdamW epsilon (> 0).
  double eps = 1e-8;
  // Linear warmup steps from 0 to lr.
  int64_t warmup_steps = 100;
  // Total optimizer steps.
  int64_t max_steps = 1000;
  // Cosine decay floor as a fraction of lr, in [0, 1].
  double min_lr_ratio = 0.1;
  // Max global gradient norm; 0 disables clipping.
  double grad_clip = 1.0;
  // Sequences per micro-batch.
  int batch_size = 16;
  // Micro-batches per optimizer step.
  int grad_accum = 1;
};

// Routing-event reporting to the observer (YAML section `record`).
struct RecordSpec {
  // Fraction of training optimizer steps whose routing decisions are reported (0: none), chosen
  // deterministically from the step number.
  double sample_rate = 0.0;
  // Report the routing decisions of the final validation pass (split "valid"). A dense job reports
  // its MLP's neuron slices instead (top-k of routing.num_pathways slices by activation norm, on
  // the layers routing would route), so routed and dense runs compare.
  bool eval_split_events = true;
  // With eval_split_events, a routed job also reports the controls on the same validation
  // sequences: "valid/fresh_routers" (the step-0 model with its fresh, centred routers; only when
  // the job started from fresh routers) and "valid/dense_slices" (the neuron slices of the dense
  // model a fine-tune started from). docs/analysis.md, "Controls".
  bool controls = true;
  // Also report the evaluation split's routing after every checkpoint (each periodic one and the
  // last), under split "eval@step<N>" (N: the checkpoint's step), over the same sequences as the
  // final evaluation (eval.max_sequences): what router saturation across checkpoints is computed
  // from (docs/analysis.md, "Router saturation"). Routed jobs only; needs an observer that wants
  // routing events.
  bool eval_at_checkpoints = false;
};

// Data parallelism (YAML section `distributed`). The ranks themselves come from the launcher's
// environment (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK: docs/engine.md,
// "Data-parallel training"); optim.batch_size stays the global batch.
struct DistributedSpec {
  // Local ranks a launcher that honours the spec starts (`monoroute train`, the trainer service);
  // 1: one process. At most kMaxJobThreads.
  int nproc_per_node = 1;
  // Seconds a rank waits for the others at the rendezvous, in a collective and at agreement
  // points (checkpoints) before failing with an error naming the missing rank, >= 1.
  int64_t timeout_s = 300;
};

// The final evaluation (after the last step) over the validation split.
struct EvalSpec {
  // Sequences of the validation split the final evaluation (its loss and the routing events it
  // records) covers, from the start of the split; 0: the whole split.
  int64_t max_sequences = 0;
};

// A complete training job. Defaults give a runnable job once data.train_path, output_dir and
// (finetune) model_dir are set.
struct JobSpec {
  // Optional human-readable name.
  std::string name;
  // "pretrain" (random init from `model`) or "finetune" (from the HF checkpoint in model_dir).
  std::string kind = "finetune";
  // Finetune: HF checkpoint directory (config.json + model.safetensors).
  std::string model_dir;
  // Pretrain architecture.
  ModelSection model;
  // Routing (finetune default: routed).
  RoutingSection routing;
  // Data pipeline.
  DataSpec data;
  // Optimiser and schedule.
  OptimSpec optim;
  // Evaluate every N optimizer steps (0: only at the end).
  int64_t eval_every = 100;
  // Validation batches per periodic evaluation (0: the whole validation split). The final
  // evaluation always uses the whole split.
  int64_t eval_batches = 20;
  // Write a checkpoint every N steps (0: only at the end).
  int64_t checkpoint_every = 100;
  // Checkpoints kept in output_dir (older ones are deleted), >= 1.
  int keep_checkpoints = 3;
  // Job directory: checkpoints, metrics.jsonl, data cache. See `resume`.
  std::string output_dir;
  // Whether the job continues checkpoints found in output_dir: "auto" (resume when there is one;
  // the trainer service refuses a new job on an output_dir that holds checkpoints, so a job only
  // resumes its own), "must" (there must be one: continue it, e.g. another job's), "never" (there
  // must be none: always start at step 0; the trainer's own retries of the job still resume).
  std::string resume = "auto";
  // "cpu" or "cuda" / "cuda:N".
  std::string device = "cpu";
  // "auto" (bf16 autocast on CUDA, fp32 on CPU), "fp32" or "bf16".
  std::string precision = "auto";
  // Train only the routers (finetune of a routed model).
  bool freeze_base = false;
  // Intra-op CPU threads; 0: every CPU this process may run on. At most kMaxJobThreads.
  int threads = 0;
  // Memory limit of the job in MiB (0: the runner's default). The trainer runs the job in a worker
  // process with this RLIMIT_DATA (it may only lower the server's --job-memory-limit-mb);
  // `monoroute train` applies it to itself. See job_resources.h for the estimate checked against
  // it.
  int64_t memory_limit_mb = 0;
  // Report a StepReport (and a metrics line) every N steps, >= 1.
  int64_t log_every = 10;
  // Seed of weight init (pretrain), router init (finetune) and the RNG state.
  uint64_t seed = 0;
  // Routing-event reporting.
  RecordSpec record;
  // Data parallelism.
  DistributedSpec distributed;
  // The final evaluation.
  EvalSpec eval;
};

// The model section's config with its defaults resolved: intermediate_size 0 -> 4 * hidden_size,
// activation "" -> the family's, attention_layers empty -> alternating global/local (GPT-Neo) or
// all global, tie_word_embeddings and window by family, bos/eos = 50256 (GPT-Neo, GPT-2) or 0
// (GPT-NeoX) clamped to the vocabulary. Not validated (ModelConfig::Validate).
model::ModelConfig ResolveModelSection(const ModelSection& m);

// True when the job's model is routed (routing.enabled, defaulting to kind == "finetune").
bool IsRouted(const JobSpec& spec);

// Parses a job spec from YAML text, then applies `set_overrides` ("a.b=v"; v parsed as YAML, so
// "optim.betas=[0.9, 0.95]" works) and validates every value. Unknown keys and bad values are
// INVALID_ARGUMENT naming the key path, e.g. "optim.lr: must be > 0". Limits (the constants
// above): text + overrides over kMaxJobSpecBytes is RESOURCE_EXHAUSTED; aliases, more than
// kMaxJobSpecNodes nodes, deeper than kMaxJobSpecDepth, oversized strings are INVALID_ARGUMENT
// naming the field; an error never echoes more than ~64 bytes of a value or key. Does not touch
// the file system (see ValidateJobSpecPaths). Thread-safe.
absl::StatusOr<JobSpec> ParseJobSpecYaml(const std::string& yaml_text,
                                         const std::vector<std::string>& set_overrides = {});

// Only the limits of ParseJobSpecYaml (size, override count, aliases, nodes, depth) on the spec
// text and the override values, without building or validating anything: for callers that look
// at the raw YAML themselves first. Thread-safe.
absl::Status CheckJobSpecLimits(const std::string& yaml_text,
                                const std::vector<std::string>& set_overrides = {});

// Reads `path` and parses it with ParseJobSpecYaml; errors name the file.
absl::StatusOr<JobSpec> LoadJobSpecFile(const std::string& path,
                                        const std::vector<std::string>& set_overrides = {});

// Serialises a spec as YAML; ParseJobSpecYaml(JobSpecToYaml(s)) == s. Thread-safe.
std::string JobSpecToYaml(const JobSpec& spec);

// Checks what must exist before training: data files readable, model_dir with config.json and
// model.safetensors (finetune), tokenizer files, output_dir creatable. NOT_FOUND / INVALID_ARGUMENT
// naming the key and path.
absl::Status ValidateJobSpecPaths(const JobSpec& spec);

// The tokenizer directory a job uses: `tokenizer_dir` if set, else `model_dir` when it holds a
// tokenizer (tokenizer.json, or vocab.json + merges.txt), else the installed GPT-2 files.
std::string ResolveTokenizerDir(const std::string& tokenizer_dir, const std::string& model_dir);

}  // namespace monoroute::engine

#endif  // MONOROUTE_COMMON_ENGINE_JOB_SPEC_H_
