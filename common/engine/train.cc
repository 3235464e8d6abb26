// The training loop: setup and validation of everything before step 0, resume, AdamW steps with
// gradient accumulation and balancing, evaluation, routing events, checkpoints.
#include "common/engine/train.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/engine/checkpoint_dir.h"
#include "common/engine/distributed.h"
#include "common/engine/hf_extras.h"
#include "common/engine/lr_schedule.h"
#include "common/engine/metrics_log.h"
#include "common/engine/model_factory.h"
#include "common/engine/routing_events.h"
#include "common/engine/sequence_sampler.h"
#include "common/engine/sha256.h"
#include "common/engine/token_cache.h"
#include "common/engine/trainer_state.h"
#include "common/model/balancing.h"
#include "common/model/checkpoint.h"
#include "common/model/cpu_threads.h"
#include "common/model/lm_loss.h"
#include "common/model/router_init.h"
#include "common/tensor_io/torch_status.h"
#include "common/tokenizer/gpt2_tokenizer.h"

namespace monoroute::engine {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// How long ranks wait for rank 0 to build or check the token caches: at least an hour, since
// tokenising a large corpus once takes long (distributed.timeout_s when that is longer).
constexpr std::chrono::milliseconds kDataTimeout = std::chrono::hours(1);

// Everything a job needs, set up (and validated) before the first step.
struct Job {
  JobSpec spec;
  // The data-parallel ranks (a world of one: every collective a no-op). Rank 0 writes
  // checkpoints, metrics.jsonl and reports progress; every rank reads its share of each global
  // batch and evaluates its share of the validation batches.
  std::unique_ptr<DistributedContext> dist;
  torch::Device device = torch::kCPU;
  torch::Dtype compute_dtype = torch::kFloat;
  bool routed = false;
  std::unique_ptr<TokenCache> train_cache, valid_cache;
  DataSplits splits;
  std::unique_ptr<SequenceSampler> sampler;
  model::GPTNeo model{nullptr};
  std::unique_ptr<model::LoadBalancer> balancer;
  std::vector<torch::Tensor> params;  // trainable, fixed order (optimizer state order)
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<MetricsLog> metrics;
  TrainerProgress progress;
  int64_t last_checkpoint_step = -1;
  std::string last_checkpoint_dir;
  std::string tokenizer_dir;
  TrainingObserver* observer = nullptr;
  bool wants_events = false;
  // The routing shape's neuron slices (ForwardOptions::DenseSliceProbe): what a dense job records
  // instead of routing, and the dense-slice control of a routed one. Empty (num_pathways 0) when
  // the spec's routing shape does not fit the model.
  model::ForwardOptions::DenseSliceProbe slices;
  // Sequences of the latest evaluation (EvalReport::sequences).
  int64_t eval_sequences = 0;
};

class NullObserver : public TrainingObserver {};

torch::Tensor BatchTensor(const SequenceBatch& b, const torch::Device& device) {
  return torch::from_blob(const_cast<int32_t*>(b.tokens.data()), {b.batch, b.seq_len + 1},
                          torch::kInt32)
      .to(torch::kInt64)
      .to(device);
}

// Splits a [B, T+1] token tensor into inputs and next-token labels.
std::pair<torch::Tensor, torch::Tensor> InputsLabels(const torch::Tensor& t) {
  int64_t n = t.size(1);
  return {t.narrow(1, 0, n - 1).contiguous(), t.narrow(1, 1, n - 1).contiguous()};
}

absl::Status ArchitectureMatches(const model::GPTNeoImpl& mine, const std::string& ckpt_dir) {
  ASSIGN_OR_RETURN(model::ModelDirConfig theirs, model::ReadModelConfig(ckpt_dir));
  const model::GPTNeoConfig& a = mine.config();
  const model::GPTNeoConfig& b = theirs.config;
  auto diff = [&](const char* what, auto x, auto y) -> absl::Status {
    if (x == y) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint ", ckpt_dir, " is of another architecture: ", what, " ", y,
                     " (the job has ", x, "); use another output_dir or delete the checkpoints"));
  };
  RETURN_IF_ERROR(diff("vocab_size", a.vocab_size, b.vocab_size));
  RETURN_IF_ERROR(diff("hidden_size", a.hidden_size, b.hidden_size));
  RETURN_IF_ERROR(diff("num_layers", a.num_layers, b.num_layers));
  RETURN_IF_ERROR(diff("num_heads", a.num_heads, b.num_heads));
  RETURN_IF_ERROR(diff("intermediate_size", a.intermediate_size, b.intermediate_size));
  RETURN_IF_ERROR(
      diff("max_position_embeddings", a.max_position_embeddings, b.max_position_embeddings));
  RETURN_IF_ERROR(diff("window_size", a.window_size, b.window_size));
  RETURN_IF_ERROR(diff("routed", mine.routing().has_value(), theirs.routing.has_value()));
  if (mine.routing() && theirs.routing) {
    const model::RoutingConfig& r = *mine.routing();
    const model::RoutingConfig& s = *theirs.routing;
    RETURN_IF_ERROR(diff("routing.num_pathways", r.num_pathways, s.num_pathways));
    RETURN_IF_ERROR(diff("routing.top_k", r.top_k, s.top_k));
    RETURN_IF_ERROR(diff("routing.router_hidden", r.router_hidden, s.router_hidden));
    RETURN_IF_ERROR(diff("routed layers", absl::StrJoin(r.RoutedLayers(a.num_layers), ","),
                         absl::StrJoin(s.RoutedLayers(b.num_layers), ",")));
  }
  return absl::OkStatus();
}

// Copies the checkpoint's weights and buffers into job.model (names and shapes must match).
absl::Status LoadCheckpointWeights(Job& job, const std::string& dir) {
  RETURN_IF_ERROR(ArchitectureMatches(*job.model, dir));
  model::LoadOptions lo;
  lo.device = job.device;
  ASSIGN_OR_RETURN(model::GPTNeo saved, model::LoadGPTNeo(dir, lo));
  return TorchCall(absl::StrCat("loading checkpoint ", dir), [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    auto theirs = saved->named_parameters(true);
    for (auto& p : job.model->named_parameters(true)) {
      const torch::Tensor* q = theirs.find(p.key());
      if (q == nullptr || !q->sizes().equals(p.value().sizes())) {
        return absl::FailedPreconditionError(absl::StrCat("checkpoint ", dir, ": parameter ",
                                                          p.key(), " missing or of another shape"));
      }
      p.value().copy_(*q);
    }
    auto their_bufs = saved->named_buffers(true);
    for (auto& b : job.model->named_buffers(true)) {
      const torch::Tensor* q = their_bufs.find(b.key());
      if (q != nullptr && q->sizes().equals(b.value().sizes())) b.value().copy_(*q);
    }
    // Aux-free routers switch their bias on after the first update; mirror the saved state.
    for (int64_t layer : job.model->routed_layers()) {
      model::PathwayRouter mine = job.model->router(layer);
      model::PathwayRouter other = saved->router(layer);
      if (!mine.is_empty() && !other.is_empty()) {
        mine->set_use_selection_bias(other->use_selection_bias());
      }
    }
    return absl::OkStatus();
  });
}

// Whether a routed job's routers are new (a routed pretrain, or a dense checkpoint converted),
// rather than trained routers loaded from a routed checkpoint.
absl::StatusOr<bool> HasFreshRouters(const JobSpec& spec) {
  if (spec.kind == "pretrain") return true;
  ASSIGN_OR_RETURN(model::ModelDirConfig dir_config, model::ReadModelConfig(spec.model_dir));
  return !dir_config.routing.has_value();
}

// Centres fresh routers' scores on the first optimizer step's worth of training sequences
// (batch_size x grad_accum), so the start does not depend on how a step is split into
// micro-batches: see model/router_init.h.
absl::Status CentreFreshRouters(const Job& job, model::GPTNeoImpl& model) {
  const JobSpec& spec = job.spec;
  std::vector<SequenceBatch> first = EvalBatches(job.splits.train, spec.data.seq_len,
                                                 spec.optim.batch_size * spec.optim.grad_accum, 1);
  if (first.empty()) return absl::OkStatus();
  torch::Tensor ids = InputsLabels(BatchTensor(first[0], job.device)).first;
  return model::CenterRouterScores(model, ids, job.compute_dtype);
}

// The neuron-slice probe of the spec's routing shape, when it fits `config`.
model::ForwardOptions::DenseSliceProbe SliceProbe(const JobSpec& spec,
                                                  const model::GPTNeoConfig& config) {
  model::ForwardOptions::DenseSliceProbe probe;
  absl::StatusOr<model::RoutingConfig> rc = ToRoutingConfig(spec.routing);
  if (!rc.ok() || !rc->Validate(config).ok()) return probe;
  probe.num_pathways = rc->num_pathways;
  probe.top_k = rc->top_k;
  probe.layers = rc->RoutedLayers(config.num_layers);
  return probe;
}

// `resume: must` needs a checkpoint in output_dir, `resume: never` needs none.
absl::Status CheckResumePolicy(const JobSpec& spec,
                               const std::optional<std::pair<int64_t, std::string>>& latest) {
  if (spec.resume == "must" && !latest.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "resume: must, but output_dir ", spec.output_dir, " holds no checkpoint to continue"));
  }
  if (spec.resume == "never" && latest.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("resume: never, but output_dir ", spec.output_dir,
                     " holds the checkpoint of step ", latest->first, " (", latest->second,
                     "); use another output_dir, delete it, or set resume: must to continue it"));
  }
  return absl::OkStatus();
}

// The device, CPU threads, precision and routed flag of `job` (its spec checked again: a
// programmatic spec may bypass the parser).
absl::Status SetUpDevice(Job& job) {
  const JobSpec& spec = job.spec;
  RETURN_IF_ERROR(ParseJobSpecYaml(JobSpecToYaml(spec)).status());
  RETURN_IF_ERROR(ValidateJobSpecPaths(spec));
  ASSIGN_OR_RETURN(job.device, ParseDevice(spec.device));
  const DistributedContext& dist = *job.dist;
  if (dist.is_distributed() && job.device.is_cuda()) {
    job.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(dist.local_rank()));
  }
  // threads 0 = every CPU: shared by the ranks of this node.
  int threads = spec.threads;
  if (threads == 0 && dist.is_distributed()) {
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) /
                              std::max(1, dist.env().local_world_size));
  }
  model::ConfigureCpuThreads(threads);
  job.routed = IsRouted(spec);
  bool bf16 = spec.precision == "bf16" || (spec.precision == "auto" && job.device.is_cuda());
  job.compute_dtype = bf16 ? torch::kBFloat16 : torch::kFloat;

  return absl::OkStatus();
}

// The model (built before any data is tokenised: a wrong checkpoint fails fast).
absl::Status SetUpModel(Job& job) {
  const JobSpec& spec = job.spec;
  ASSIGN_OR_RETURN(job.model, BuildModel(spec, job.device));
  job.slices = SliceProbe(spec, job.model->config());
  if (spec.data.seq_len > job.model->config().max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat("data.seq_len: ", spec.data.seq_len,
                                                   " exceeds the model's max_position_embeddings ",
                                                   job.model->config().max_position_embeddings));
  }

  return absl::OkStatus();
}

// Token caches (rank 0 builds them first), the train / validation splits and the sampler.
absl::Status SetUpData(Job& job) {
  const JobSpec& spec = job.spec;
  const DistributedContext& dist = *job.dist;
  job.tokenizer_dir =
      ResolveTokenizerDir(spec.data.tokenizer_dir, spec.kind == "finetune" ? spec.model_dir : "");
  TokenCacheOptions co;
  co.format = spec.data.format;
  co.tokenizer_dir = job.tokenizer_dir;
  co.cache_dir = spec.data.cache_dir.empty() ? (fs::path(spec.output_dir) / "data_cache").string()
                                             : spec.data.cache_dir;
  co.threads = spec.data.tokenize_threads;
  co.source_path = spec.data.train_path;
  if (dist.is_primary()) job.observer->OnPhase({"pretokenising", 0, 0});
  // Rank 0 builds (or checks) the token caches first; the others then reuse them.
  if (!dist.is_primary()) RETURN_IF_ERROR(job.dist->Agree(absl::OkStatus(), "data", kDataTimeout));
  absl::StatusOr<std::unique_ptr<TokenCache>> tc = TokenCache::Open(co);
  if (!tc.ok()) {
    return absl::Status(tc.status().code(),
                        absl::StrCat("data.train_path: ", tc.status().message()));
  }
  job.train_cache = std::move(*tc);
  if (!spec.data.valid_path.empty()) {
    co.source_path = spec.data.valid_path;
    absl::StatusOr<std::unique_ptr<TokenCache>> vc = TokenCache::Open(co);
    if (!vc.ok()) {
      return absl::Status(vc.status().code(),
                          absl::StrCat("data.valid_path: ", vc.status().message()));
    }
    job.valid_cache = std::move(*vc);
  }
  if (dist.is_primary()) RETURN_IF_ERROR(job.dist->Agree(absl::OkStatus(), "data", kDataTimeout));
  ASSIGN_OR_RETURN(job.splits, MakeDataSplits(*job.train_cache, job.valid_cache.get(),
                                              spec.data.valid_fraction, spec.data.seed));
  int64_t max_token = 0;
  for (int32_t t : job.splits.train) max_token = std::max<int64_t>(max_token, t);
  for (int32_t t : job.splits.valid) max_token = std::max<int64_t>(max_token, t);
  if (max_token >= job.model->config().vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("data: token id ", max_token, " is outside the model's vocab_size ",
                     job.model->config().vocab_size, " (tokenizer ", job.tokenizer_dir, ")"));
  }
  ASSIGN_OR_RETURN(job.sampler, SequenceSampler::Create(&job.splits.train, spec.data.seq_len,
                                                        spec.data.seed, /*shuffle=*/true));
  if (static_cast<int64_t>(job.splits.valid.size()) < spec.data.seq_len + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("data: the validation split has ", job.splits.valid.size(),
                     " tokens, fewer than data.seq_len + 1 = ", spec.data.seq_len + 1));
  }

  return absl::OkStatus();
}

// Trainable parameters, AdamW with decay / no-decay groups, and the routed job's load balancer.
absl::Status SetUpOptimizer(Job& job) {
  const JobSpec& spec = job.spec;
  const DistributedContext& dist = *job.dist;
  if (spec.freeze_base) {
    for (torch::Tensor& p : job.model->base_parameters()) p.set_requires_grad(false);
    job.params = job.model->router_parameters();
  } else {
    for (torch::Tensor& p : job.model->parameters()) {
      if (p.requires_grad()) job.params.push_back(p);
    }
  }
  if (job.params.empty()) {
    return absl::InvalidArgumentError("freeze_base: the model has no router parameters to train");
  }
  std::vector<torch::Tensor> decay, no_decay;
  for (const torch::Tensor& p : job.params) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  auto make_opts = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(spec.optim.lr)
            .betas({spec.optim.beta1, spec.optim.beta2})
            .eps(spec.optim.eps)
            .weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!decay.empty()) groups.emplace_back(decay, make_opts(spec.optim.weight_decay));
  if (!no_decay.empty()) groups.emplace_back(no_decay, make_opts(0.0));
  job.optimizer =
      std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(spec.optim.lr));
  // The optimizer's state order is the group order: record it as the saved order.
  job.params.clear();
  for (auto& g : job.optimizer->param_groups()) {
    for (auto& p : g.params()) job.params.push_back(p);
  }

  if (job.routed) {
    model::LoadBalancerOptions bo;
    bo.balancing = job.model->routing()->balancing;
    bo.num_pathways = job.model->routing()->num_pathways;
    bo.layers = job.model->routed_layers();
    bo.device = job.device;
    ASSIGN_OR_RETURN(job.balancer, model::LoadBalancer::Create(bo));
    if (dist.is_distributed()) {
      // GLBL's f, the aux-free loads and the stats are the global batch's.
      DistributedContext* d = job.dist.get();
      job.balancer->SetAllReduce([d](torch::Tensor& counts) {
        std::vector<torch::Tensor> t = {counts};
        return d->AllReduceSum(t, "balancing counts all-reduce");
      });
    }
  }

  return absl::OkStatus();
}

// Resumes from the latest checkpoint (checked against the data) or centres fresh routers; opens
// metrics.jsonl and writes job.yaml (rank 0).
absl::Status SetUpResume(Job& job) {
  const JobSpec& spec = job.spec;
  const DistributedContext& dist = *job.dist;
  job.progress.data_seed = spec.data.seed;
  job.progress.seq_len = spec.data.seq_len;
  job.progress.train_windows = job.sampler->num_windows();
  job.progress.train_sha256 = job.train_cache->source_sha256();

  // Resume, or centre fresh routers' scores on the first training batch (a dense checkpoint
  // converted, or a routed pretrain): see model/router_init.h. A resumed job's routers come from
  // its checkpoint instead.
  if (dist.is_primary()) RemoveStaleStaging(spec.output_dir);
  std::optional<std::pair<int64_t, std::string>> latest = LatestCheckpoint(spec.output_dir);
  RETURN_IF_ERROR(CheckResumePolicy(spec, latest));
  if (job.routed && !latest.has_value()) {
    ASSIGN_OR_RETURN(bool fresh, HasFreshRouters(spec));
    if (fresh) RETURN_IF_ERROR(CentreFreshRouters(job, *job.model));
  }
  if (latest.has_value()) {
    const std::string& dir = latest->second;
    RETURN_IF_ERROR(LoadCheckpointWeights(job, dir));
    TrainerProgress saved;
    RETURN_IF_ERROR(
        LoadTrainerState(dir, &saved, *job.optimizer, job.params, job.balancer.get(), job.device));
    if (saved.data_seed != job.progress.data_seed || saved.seq_len != job.progress.seq_len ||
        saved.train_windows != job.progress.train_windows ||
        saved.train_sha256 != job.progress.train_sha256) {
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint ", dir,
                       " was trained on other data (train file hash, data.seed or "
                       "data.seq_len differ); use another output_dir"));
    }
    job.progress = saved;
    job.sampler->set_position(saved.data);
    job.last_checkpoint_step = saved.step;
    job.last_checkpoint_dir = dir;
  }
  if (dist.is_primary()) {
    ASSIGN_OR_RETURN(job.metrics,
                     MetricsLog::Open((fs::path(spec.output_dir) / "metrics.jsonl").string(),
                                      job.last_checkpoint_step));
    RETURN_IF_ERROR(
        WriteFileAtomic((fs::path(spec.output_dir) / "job.yaml").string(), JobSpecToYaml(spec)));
  }
  return absl::OkStatus();
}

absl::Status SetUp(Job& job) {
  RETURN_IF_ERROR(SetUpDevice(job));
  RETURN_IF_ERROR(SetUpModel(job));
  RETURN_IF_ERROR(SetUpData(job));
  RETURN_IF_ERROR(SetUpOptimizer(job));
  return SetUpResume(job);
}

// Rank 0's weights and floating-point buffers (aux-free biases) on every rank: the ranks start
// from one model whatever their set-up did.
absl::Status BroadcastModel(Job& job) {
  if (!job.dist->is_distributed()) return absl::OkStatus();
  std::vector<torch::Tensor> tensors;
  for (const torch::Tensor& p : job.model->parameters()) tensors.push_back(p.detach());
  for (const torch::Tensor& b : job.model->buffers()) {
    if (b.is_floating_point()) tensors.push_back(b);
  }
  return job.dist->Broadcast(tensors, "model broadcast from rank 0");
}

// What the observer's recorder run is declared with.
RunShape MakeRunShape(const Job& job) {
  RunShape shape;
  const model::GPTNeoConfig& c = job.model->config();
  shape.num_layers = static_cast<int>(c.num_layers);
  shape.vocab_size = static_cast<int>(c.vocab_size);
  shape.routed = job.routed;
  if (job.routed) {
    for (int64_t l : job.model->routed_layers()) shape.routed_layers.push_back(static_cast<int>(l));
    shape.num_pathways = static_cast<int>(job.model->routing()->num_pathways);
    shape.top_k = static_cast<int>(job.model->routing()->top_k);
  } else if (job.slices.num_pathways > 0) {
    for (int64_t l : job.slices.layers) shape.routed_layers.push_back(static_cast<int>(l));
    shape.num_pathways = static_cast<int>(job.slices.num_pathways);
    shape.top_k = static_cast<int>(job.slices.top_k);
  }
  shape.rank = job.dist->rank();
  shape.world_size = job.dist->world_size();
  return shape;
}

absl::Status FillCheckpoint(Job& job, const std::string& staging);

absl::Status WriteCheckpointFiles(Job& job) {
  const int64_t step = job.progress.step;
  auto t0 = Clock::now();
  ASSIGN_OR_RETURN(std::string staging, MakeStagingDir(job.spec.output_dir, step));
  absl::Status written = FillCheckpoint(job, staging);
  if (!written.ok()) {
    std::error_code ec;
    fs::remove_all(staging, ec);  // a partial checkpoint frees its space at once
    return written;
  }
  ASSIGN_OR_RETURN(std::string dir,
                   CommitCheckpoint(staging, job.spec.output_dir, step, job.spec.keep_checkpoints));
  job.last_checkpoint_step = step;
  job.last_checkpoint_dir = dir;
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  job.observer->OnCheckpoint(step, dir, secs);
  return absl::OkStatus();
}

// Writes the checkpoint files of the current step into `staging`.
absl::Status FillCheckpoint(Job& job, const std::string& staging) {
  RETURN_IF_ERROR(model::SaveGPTNeo(*job.model, staging));
  HfExtrasOptions hf_extras;  // model card, tokenizer_config.json, generation_config.json
  hf_extras.step = job.progress.step;
  hf_extras.kind = job.spec.kind;
  hf_extras.name = job.spec.name;
  RETURN_IF_ERROR(WriteHfExtras(staging, job.model->config(), job.model->routing(), hf_extras));
  ASSIGN_OR_RETURN(std::vector<std::string> tokenizer_files, TokenizerFiles(job.tokenizer_dir));
  for (const std::string& f : tokenizer_files) {
    std::error_code ec;
    fs::copy_file(fs::path(job.tokenizer_dir) / f, fs::path(staging) / f,
                  fs::copy_options::overwrite_existing, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot copy tokenizer file ", f, " into ", staging, ": ", ec.message()));
    }
  }
  RETURN_IF_ERROR(SaveTrainerState(staging, job.progress, *job.optimizer, job.params,
                                   job.balancer.get(), job.device));
  return WriteFileAtomic((fs::path(staging) / "job.yaml").string(), JobSpecToYaml(job.spec));
}

// Rank 0 writes the checkpoint of the current step; every rank waits for it (an error on rank 0
// fails every rank, naming it).
absl::Status WriteCheckpoint(Job& job) {
  const int64_t step = job.progress.step;
  absl::Status st = job.dist->is_primary()
                        ? CheckpointWriteError(WriteCheckpointFiles(job), job.spec.output_dir, step)
                        : absl::OkStatus();
  if (!job.dist->is_distributed()) return st;
  RETURN_IF_ERROR(job.dist->Agree(st, absl::StrCat("checkpoint ", step)));
  if (!job.dist->is_primary()) {
    std::optional<std::pair<int64_t, std::string>> latest = LatestCheckpoint(job.spec.output_dir);
    if (!latest.has_value() || latest->first != step) {
      return absl::FailedPreconditionError(
          absl::StrCat("rank ", job.dist->rank(), " does not see rank 0's checkpoint of step ",
                       step, " in ", CheckpointRoot(job.spec.output_dir),
                       " (output_dir must be storage shared by the ranks)"));
    }
    job.last_checkpoint_step = step;
    job.last_checkpoint_dir = latest->second;
  }
  return absl::OkStatus();
}

// Sum of the cross-entropy of logits = hidden [N, H] x weight [V, H]^T against labels [N]: the
// fused LM loss (which under NoGradGuard computes no gradients) times N, so evaluation gets the
// same chunked, threaded path as training and never materialises [N, V] logits.
double EvalCeSum(const torch::Tensor& hidden, const torch::Tensor& weight,
                 const torch::Tensor& labels, torch::Dtype compute_dtype) {
  model::LmLossOptions lo;
  lo.compute_dtype = compute_dtype;
  return model::FusedLmLoss(hidden, weight, labels, lo).item<double>() *
         static_cast<double>(hidden.size(0));
}

// Mean LM loss of `model` over the validation split (max_batches > 0: the first max_batches
// batches). With `events_split` set, reports every batch's routing under that split: the model's
// own routing, or with `probe` the dense-slice pseudo-routing of the probed layers.
// `balance` (may be null) receives the load balance of the routed layers' routing.
absl::StatusOr<double> EvaluateOn(Job& job, model::GPTNeoImpl& model, int64_t max_batches,
                                  const std::string& events_split,
                                  const model::ForwardOptions::DenseSliceProbe* probe = nullptr,
                                  std::vector<LayerBalance>* balance = nullptr,
                                  const char* phase = nullptr) {
  std::vector<SequenceBatch> batches =
      EvalBatches(job.splits.valid, job.spec.data.seq_len, job.spec.optim.batch_size, max_batches);
  job.eval_sequences = 0;
  for (const SequenceBatch& b : batches) job.eval_sequences += b.batch;
  DistributedContext& dist = *job.dist;
  const int64_t num_batches = static_cast<int64_t>(batches.size());
  const int64_t report_every = std::max<int64_t>(1, num_batches / 100);
  auto report = [&](int64_t done) {
    if (phase != nullptr && dist.is_primary() && (done % report_every == 0 || done == num_batches))
      job.observer->OnPhase({phase, done, num_batches});
  };
  report(0);
  return TorchCall("evaluation", [&]() -> absl::StatusOr<double> {
    torch::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    double sum = 0.0;
    int64_t n = 0;
    model::ForwardOptions fo;
    fo.return_logits = false;
    fo.return_routing = !events_split.empty() || balance != nullptr;
    fo.compute_dtype = job.compute_dtype;
    if (probe != nullptr) fo.dense_slices = *probe;
    std::vector<torch::Tensor> counts;  // per reported layer, [P] int64
    std::vector<int64_t> layers;
    if (balance != nullptr && model.routing().has_value()) {
      // Every rank reduces the same layout, also one without batches of its own.
      for (int64_t l : model.routed_layers()) {
        counts.push_back(torch::zeros({model.routing()->num_pathways},
                                      torch::TensorOptions().device(job.device)));
        layers.push_back(l);
      }
    }
    // Batch i is rank (i mod world size)'s; its events keep the batch's own block id.
    for (size_t i = static_cast<size_t>(dist.rank()); i < batches.size();
         i += static_cast<size_t>(dist.world_size())) {
      report(static_cast<int64_t>(i));
      auto [x, y] = InputsLabels(BatchTensor(batches[i], job.device));
      model::ForwardOutput out = model.forward(x, fo);
      torch::Tensor h = out.final_norm.reshape({-1, out.final_norm.size(-1)});
      sum += EvalCeSum(h, model.lm_head_weight(), y.reshape({-1}), job.compute_dtype);
      n += y.numel();
      for (size_t l = 0; l < out.routing.size(); ++l) {
        const model::RoutingInfo& r = out.routing[l];
        if (balance != nullptr) {
          torch::Tensor c = model::AssignmentCounts(r.topk_indices, r.probs.size(-1));
          if (counts.size() <= l) {
            counts.push_back(c);
            layers.push_back(r.layer);
          } else {
            counts[l] += c;
          }
        }
        if (!events_split.empty()) {
          job.observer->OnRoutingEvents(
              MakeRoutingEvents(r.ToCpu(), batches[i], job.progress.step, events_split, i));
        }
      }
    }
    if (dist.is_distributed()) {
      // One fp64 vector: [loss sum, tokens, counts of each layer...].
      std::vector<torch::Tensor> parts = {
          torch::tensor({sum, static_cast<double>(n)}, torch::kDouble).to(job.device)};
      for (const torch::Tensor& c : counts) parts.push_back(c.to(torch::kDouble));
      std::vector<torch::Tensor> totals = {torch::cat(parts)};
      RETURN_IF_ERROR(dist.AllReduceSum(totals, "evaluation loss all-reduce"));
      torch::Tensor t = totals[0].cpu();
      sum = t[0].item<double>();
      n = static_cast<int64_t>(t[1].item<double>());
      int64_t off = 2;
      for (torch::Tensor& c : counts) {
        c = totals[0].narrow(0, off, c.numel()).to(c.dtype());
        off += c.numel();
      }
    }
    if (balance != nullptr) {
      balance->clear();
      for (size_t l = 0; l < counts.size(); ++l) {
        torch::Tensor c = counts[l].to(torch::kDouble).cpu();
        c = c / c.sum().clamp_min(1.0);
        LayerBalance b;
        b.layer = static_cast<int>(layers[l]);
        b.load.assign(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
        b.max_violation = model::MaxViolation(b.load);
        b.load_entropy = model::LoadEntropy(b.load);
        balance->push_back(std::move(b));
      }
    }
    if (was_training) model.train();
    report(num_batches);
    return n > 0 ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
  });
}

// The job's model on the validation split; the final evaluation reports its routing (a dense
// job: its neuron slices) under split "valid".
// `balance` (may be null) receives a routed model's load balance on the evaluated batches.
absl::StatusOr<double> Evaluate(Job& job, int64_t max_batches, bool events,
                                std::vector<LayerBalance>* balance, const char* phase = nullptr) {
  const bool probe = events && !job.routed && job.slices.num_pathways > 0;
  return EvaluateOn(job, *job.model, max_batches, events && (job.routed || probe) ? "valid" : "",
                    probe ? &job.slices : nullptr, job.routed ? balance : nullptr, phase);
}

// Batches of the final evaluation: eval.max_sequences rounded up to whole batches (0: all).
int64_t FinalEvalBatches(const JobSpec& spec) {
  const int64_t n = spec.eval.max_sequences;
  return n <= 0 ? 0 : (n + spec.optim.batch_size - 1) / spec.optim.batch_size;
}

// Copies every parameter and buffer of `from` into `to` (the same architecture) except the
// routers' own: `to` keeps its routers on `from`'s trunk.
absl::Status CopyTrunk(const model::GPTNeoImpl& from, model::GPTNeoImpl& to) {
  return TorchCall("copying the trained trunk", [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    std::set<const void*> routers;
    for (const torch::Tensor& t : from.router_parameters()) routers.insert(t.unsafeGetTensorImpl());
    auto theirs = from.named_parameters(true);
    for (auto& p : to.named_parameters(true)) {
      const torch::Tensor* q = theirs.find(p.key());
      if (q == nullptr || !q->sizes().equals(p.value().sizes())) {
        return absl::InternalError(absl::StrCat("trunk copy: parameter ", p.key(), " differs"));
      }
      if (routers.count(q->unsafeGetTensorImpl()) == 0) p.value().copy_(*q);
    }
    auto their_bufs = from.named_buffers(true);
    for (auto& b : to.named_buffers(true)) {
      const torch::Tensor* q = their_bufs.find(b.key());
      // Router buffers (the aux-free selection bias) stay the fresh routers' own.
      if (q != nullptr && !absl::StrContains(b.key(), "router") &&
          q->sizes().equals(b.value().sizes())) {
        b.value().copy_(*q);
      }
    }
    return absl::OkStatus();
  });
}

// The controls of a routed job, on the same validation sequences (docs/analysis.md): the step-0
// model rebuilt exactly as the job started it (fresh routers centred on the first batch), its
// routing under "valid/fresh_routers", and its MLPs run densely, sliced as the routing slices
// them, under "valid/dense_slices"; then the same fresh routers on the *trained* trunk (centred
// on it) under "valid/trained_trunk_fresh_routers", which separates what the routers learned from
// what the trunk learned. Skipped for a job that started from trained routers (no fresh routers
// exist) and, for the dense slices, for a routed pretrain (its step-0 MLPs are random). The
// global torch RNG is restored afterwards.
absl::Status RecordControls(Job& job) {
  const JobSpec& spec = job.spec;
  ASSIGN_OR_RETURN(bool fresh, HasFreshRouters(spec));
  if (!fresh) return absl::OkStatus();
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  const torch::Tensor rng_state = gen.get_state();
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(model::GPTNeo start, BuildModel(spec, job.device));
    RETURN_IF_ERROR(CentreFreshRouters(job, *start));
    RETURN_IF_ERROR(
        EvaluateOn(job, *start, FinalEvalBatches(spec), "valid/fresh_routers").status());
    if (spec.kind == "finetune" && job.slices.num_pathways > 0) {
      RETURN_IF_ERROR(
          EvaluateOn(job, *start, FinalEvalBatches(spec), "valid/dense_slices", &job.slices)
              .status());
    }
    gen.set_state(rng_state);  // the same fresh routers as at step 0
    ASSIGN_OR_RETURN(model::GPTNeo on_trained, BuildModel(spec, job.device));
    RETURN_IF_ERROR(CopyTrunk(*job.model, *on_trained));
    RETURN_IF_ERROR(CentreFreshRouters(job, *on_trained));
    return EvaluateOn(job, *on_trained, FinalEvalBatches(spec), "valid/trained_trunk_fresh_routers")
        .status();
  }();
  gen.set_state(rng_state);
  return st;
}

// Split name of the evaluation recorded at the checkpoint of `step` (record.eval_at_checkpoints).
std::string CheckpointEvalSplit(int64_t step) { return absl::StrCat("eval@step", step); }

// With record.eval_at_checkpoints, a routed job that reports events evaluates the checkpoint just
// written over the final evaluation's sequences and reports its routing under "eval@step<N>"
// (every rank its own batches, as in the final evaluation).
absl::Status RecordCheckpointEval(Job& job) {
  if (!job.spec.record.eval_at_checkpoints || !job.wants_events || !job.routed) {
    return absl::OkStatus();
  }
  return EvaluateOn(job, *job.model, FinalEvalBatches(job.spec),
                    CheckpointEvalSplit(job.progress.step))
      .status();
}

absl::Status ReportEval(Job& job, double loss, std::vector<LayerBalance> balance) {
  EvalReport r;
  r.balance = std::move(balance);
  r.step = job.progress.step;
  r.val_loss = loss;
  r.perplexity = std::exp(loss);
  r.split = "valid";
  r.sequences = job.eval_sequences;
  if (!job.dist->is_primary()) return absl::OkStatus();
  job.metrics->WriteEval(r);
  job.observer->OnEval(r);
  return absl::OkStatus();
}

// True when step `step`'s routing decisions are sampled for the observer.
bool SampledStep(const JobSpec& spec, int64_t step) {
  double rate = spec.record.sample_rate;
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  uint64_t h = HashPair(spec.data.seed ^ 0x7265636f7264ULL, static_cast<uint64_t>(step));
  return static_cast<double>(h >> 11) * 0x1.0p-53 < rate;
}

// The step's report: learning rate, world size, the losses (means over the ranks and the
// micro-batches; `lm_total` / `bal_total` are this rank's sums over its micro-batches) and the
// per-layer balance of a routed job.
absl::Status FillStepReport(Job& job, double lm_total, double bal_total, double lr,
                            StepReport* report) {
  DistributedContext& dist = *job.dist;
  const int accum = job.spec.optim.grad_accum;
  report->lr = lr;
  report->world_size = dist.world_size();
  // Reported losses: means over the ranks (each rank's are means over its equal share).
  std::vector<double> layer_loss;
  if (job.routed) {
    for (const model::LayerBalanceStats& s : job.balancer->Stats()) layer_loss.push_back(s.loss);
  }
  if (dist.is_distributed()) {
    std::vector<double> v = {lm_total, bal_total};
    v.insert(v.end(), layer_loss.begin(), layer_loss.end());
    std::vector<torch::Tensor> t = {torch::tensor(v, torch::kDouble).to(job.device)};
    RETURN_IF_ERROR(dist.AllReduceSum(t, "loss all-reduce"));
    torch::Tensor c = t[0].cpu() / static_cast<double>(dist.world_size());
    lm_total = c[0].item<double>();
    bal_total = c[1].item<double>();
    for (size_t l = 0; l < layer_loss.size(); ++l) {
      layer_loss[l] = c[static_cast<int64_t>(l) + 2].item<double>();
    }
  }
  report->lm_loss = lm_total / accum;
  report->balance.clear();
  report->balance_loss = 0.0;
  report->total_loss = report->lm_loss;
  if (job.routed) {
    report->total_loss += bal_total / accum;
    double mean = 0.0;
    size_t li = 0;
    for (const model::LayerBalanceStats& s : job.balancer->Stats()) {
      LayerBalance b;
      b.layer = static_cast<int>(s.layer);
      b.load = s.load;
      b.max_violation = s.max_vio;
      b.load_entropy = s.load_entropy;
      b.balance_loss = layer_loss[li++];
      mean += b.balance_loss;
      report->balance.push_back(std::move(b));
    }
    if (!report->balance.empty()) mean /= static_cast<double>(report->balance.size());
    report->balance_loss = mean;
  }
  return absl::OkStatus();
}

// One optimizer step. Fills the report's losses and balance.
absl::Status TrainStep(Job& job, StepReport* report) {
  const JobSpec& spec = job.spec;
  const int accum = spec.optim.grad_accum;
  const int64_t step = job.progress.step;
  DistributedContext& dist = *job.dist;
  std::vector<SequenceBatch> mbs;  // this rank's share of each micro-batch of the global batch
  for (int i = 0; i < accum; ++i) {
    mbs.push_back(job.sampler->NextShard(spec.optim.batch_size, dist.rank(), dist.world_size()));
  }
  const bool events = job.wants_events && job.routed && SampledStep(spec, step);
  double lr = WarmupCosineLr(
      {spec.optim.lr, spec.optim.warmup_steps, spec.optim.max_steps, spec.optim.min_lr_ratio},
      step);
  return TorchCall(absl::StrCat("training step ", step + 1), [&]() -> absl::Status {
    for (auto& g : job.optimizer->param_groups()) {
      static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    }
    model::ForwardOptions fo;
    fo.return_logits = false;
    fo.return_routing = job.routed;
    fo.compute_dtype = job.compute_dtype;
    model::LmLossOptions lo;
    lo.compute_dtype = job.compute_dtype;
    std::vector<torch::Tensor> inputs;
    for (const SequenceBatch& b : mbs) inputs.push_back(BatchTensor(b, job.device));
    if (job.routed) {
      job.balancer->BeginStep();
      if (accum > 1) {
        // f over the whole optimizer step before any backward: a no-grad routing pre-pass.
        torch::NoGradGuard no_grad;
        for (const torch::Tensor& t : inputs) {
          model::ForwardOutput out = job.model->forward(InputsLabels(t).first, fo);
          RETURN_IF_ERROR(job.balancer->Accumulate(out.routing));
        }
        RETURN_IF_ERROR(job.balancer->FinalizeCounts());
      }
    }
    for (torch::Tensor& p : job.params) p.mutable_grad() = torch::Tensor();  // set_to_none
    torch::Tensor lm_sum = torch::zeros({}, torch::TensorOptions().device(job.device));
    torch::Tensor bal_sum = torch::zeros({}, torch::TensorOptions().device(job.device));
    for (int i = 0; i < accum; ++i) {
      auto [x, y] = InputsLabels(inputs[i]);
      model::ForwardOutput out = job.model->forward(x, fo);
      torch::Tensor h = out.final_norm.reshape({-1, out.final_norm.size(-1)});
      torch::Tensor lm = model::FusedLmLoss(h, job.model->lm_head_weight(), y.reshape({-1}), lo);
      torch::Tensor loss = lm;
      if (job.routed) {
        if (accum == 1) {
          RETURN_IF_ERROR(job.balancer->Accumulate(out.routing));
          RETURN_IF_ERROR(job.balancer->FinalizeCounts());
        }
        ASSIGN_OR_RETURN(torch::Tensor bal, job.balancer->Loss(out.routing));
        loss = loss + bal;
        bal_sum += bal.detach();
        if (events) {
          for (const model::RoutingInfo& r : out.routing) {
            job.observer->OnRoutingEvents(MakeRoutingEvents(r.ToCpu(), mbs[i], step + 1, "train", i,
                                                            dist.rank(), dist.world_size()));
          }
        }
      }
      lm_sum += lm.detach();
      (accum > 1 ? loss / static_cast<double>(accum) : loss).backward();
    }
    // Gradients of the global batch (mean over ranks) before clipping.
    RETURN_IF_ERROR(dist.AverageGradients(job.params));
    if (spec.optim.grad_clip > 0)
      torch::nn::utils::clip_grad_norm_(job.params, spec.optim.grad_clip);
    job.optimizer->step();
    if (job.routed) RETURN_IF_ERROR(job.balancer->EndStep(*job.model));
    return FillStepReport(job, lm_sum.item<double>(), bal_sum.item<double>(), lr, report);
  });
}

// Every rank flushes its events; then (a completed job) rank 0 reports them complete.
absl::Status FinishEvents(Job& job, bool completed) {
  if (job.dist->is_primary()) job.observer->OnPhase({"uploading", 0, 0});
  absl::Status st = job.observer->FlushEvents();
  RETURN_IF_ERROR(job.dist->Agree(st, "events flushed"));
  if (completed && job.dist->is_primary()) return job.observer->OnEventsComplete();
  return absl::OkStatus();
}

absl::StatusOr<TrainResult> Run(Job& job) {
  const JobSpec& spec = job.spec;
  const int64_t total = spec.optim.max_steps;
  const int64_t start = job.progress.step;
  if (start > total) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint ", job.last_checkpoint_dir,
                                                      " is at step ", start,
                                                      ", past optim.max_steps ", total));
  }
  // Events change what the ranks compute together (the controls' passes): agreed by all ranks.
  ASSIGN_OR_RETURN(job.wants_events,
                   job.dist->Any(job.observer->WantsRoutingEvents(), "routing events agreement"));
  RETURN_IF_ERROR(job.observer->OnRunShape(MakeRunShape(job)));
  const bool primary = job.dist->is_primary();
  if (primary) {
    job.observer->OnStart(start, total);
    job.observer->OnPhase({"training", start, total});
  }
  job.model->train();
  TrainResult result;
  const int64_t tokens_per_step =
      static_cast<int64_t>(spec.optim.batch_size) * spec.optim.grad_accum * spec.data.seq_len;
  auto t0 = Clock::now();
  const double elapsed_before = job.progress.elapsed_s;
  while (job.progress.step < total) {
    // Any rank asked to stop (a signal, a cancel): every rank stops at this step.
    ASSIGN_OR_RETURN(bool stop, job.dist->Any(job.observer->ShouldStop(), "stop check"));
    if (stop) {
      result.stopped_early = true;
      break;
    }
    StepReport r;
    RETURN_IF_ERROR(TrainStep(job, &r));
    ++job.progress.step;
    job.progress.tokens_seen += tokens_per_step;
    job.progress.data = job.sampler->position();
    double run_s = std::chrono::duration<double>(Clock::now() - t0).count();
    job.progress.elapsed_s = elapsed_before + run_s;
    const int64_t step = job.progress.step;
    if (step % spec.log_every == 0 || step == total) {
      r.step = step;
      r.total_steps = total;
      r.tokens_seen = job.progress.tokens_seen;
      r.tokens_per_s =
          run_s > 0 ? static_cast<double>((step - start) * tokens_per_step) / run_s : 0;
      r.eta_s = step > start
                    ? run_s / static_cast<double>(step - start) * static_cast<double>(total - step)
                    : 0;
      if (primary) {
        job.metrics->WriteStep(r);
        job.observer->OnStep(r);
      }
    }
    if (spec.eval_every > 0 && step % spec.eval_every == 0 && step < total) {
      std::vector<LayerBalance> balance;
      ASSIGN_OR_RETURN(double loss, Evaluate(job, spec.eval_batches, false, &balance));
      RETURN_IF_ERROR(ReportEval(job, loss, std::move(balance)));
    }
    if ((spec.checkpoint_every > 0 && step % spec.checkpoint_every == 0) || step == total) {
      RETURN_IF_ERROR(WriteCheckpoint(job));
      RETURN_IF_ERROR(RecordCheckpointEval(job));
    }
  }
  if (job.last_checkpoint_step != job.progress.step) RETURN_IF_ERROR(WriteCheckpoint(job));
  result.final_step = job.progress.step;
  result.checkpoint_dir = job.last_checkpoint_dir;
  if (result.stopped_early) {
    result.final_val_loss = std::numeric_limits<double>::quiet_NaN();
    RETURN_IF_ERROR(FinishEvents(job, /*completed=*/false));
    return result;
  }
  bool events = job.wants_events && spec.record.eval_split_events;
  std::vector<LayerBalance> balance;
  ASSIGN_OR_RETURN(result.final_val_loss,
                   Evaluate(job, FinalEvalBatches(spec), events, &balance, "final_eval"));
  RETURN_IF_ERROR(ReportEval(job, result.final_val_loss, std::move(balance)));
  if (events && job.routed && spec.record.controls) {
    if (primary) job.observer->OnPhase({"recording_controls", 0, 0});
    RETURN_IF_ERROR(RecordControls(job));
  }
  RETURN_IF_ERROR(FinishEvents(job, /*completed=*/true));
  return result;
}

// The ranks of the job from the launcher's environment (none set: a world of one). The global
// batch must split evenly.
absl::StatusOr<std::unique_ptr<DistributedContext>> ConnectRanks(const JobSpec& spec) {
  ASSIGN_OR_RETURN(std::optional<DistributedEnv> env, DistributedEnvFromEnvironment());
  if (!env.has_value() || env->world_size == 1) return DistributedContext::Single();
  if (spec.optim.batch_size % env->world_size != 0) {
    return absl::InvalidArgumentError(absl::StrCat("optim.batch_size: ", spec.optim.batch_size,
                                                   " (the global batch) is not divisible by the ",
                                                   env->world_size, " ranks (WORLD_SIZE)"));
  }
  DistributedOptions o;
  o.timeout = std::chrono::seconds(spec.distributed.timeout_s);
  o.cuda = absl::StartsWith(spec.device, "cuda");
  o.job_fingerprint = Sha256Hex(JobSpecToYaml(spec)).substr(0, 16);
  return DistributedContext::Create(*env, o);
}

}  // namespace

absl::StatusOr<TrainResult> RunTrainingJob(const JobSpec& spec, TrainingObserver* observer) {
  NullObserver null_observer;
  Job job;
  job.spec = spec;
  job.observer = observer != nullptr ? observer : &null_observer;
  // Values first: a bad spec fails every rank at once, before any rendezvous.
  RETURN_IF_ERROR(ParseJobSpecYaml(JobSpecToYaml(spec)).status());
  ASSIGN_OR_RETURN(job.dist, ConnectRanks(spec));
  absl::StatusOr<TrainResult> result = [&]() -> absl::StatusOr<TrainResult> {
    RETURN_IF_ERROR(SetUp(job));
    RETURN_IF_ERROR(job.dist->Agree(absl::OkStatus(), "set-up"));
    RETURN_IF_ERROR(BroadcastModel(job));
    return Run(job);
  }();
  if (!result.ok()) job.dist->ReportFailure(result.status());
  return result;
}

}  // namespace monoroute::engine
