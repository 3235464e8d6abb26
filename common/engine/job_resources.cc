// Model shape resolution, spec-vs-model checks and the memory estimate of a training job.
#include "common/engine/job_resources.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"

namespace monoroute::engine {
namespace {

namespace fs = std::filesystem;

constexpr double kF32 = 4.0;
constexpr int64_t kMaxConfigBytes = int64_t{1} << 20;

absl::StatusOr<JobModelShape> ShapeFromConfig(const std::string& field, const std::string& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat(field, ": cannot read ", path, ": ", ec.message()));
  }
  if (size > static_cast<uintmax_t>(kMaxConfigBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", path, " has ", size, " bytes, more than ", kMaxConfigBytes));
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const std::string src = absl::StrCat(field, ": ", path);
  ASSIGN_OR_RETURN(nlohmann::json j, model::ParseConfigJsonText(text, src));
  JobModelShape s;
  ASSIGN_OR_RETURN(model::ModelConfig sizes, model::ModelConfig::SizesFromJson(j, src));
  static_cast<model::ModelConfig&>(s) = sizes;
  s.source = path;
  return s;
}

// Routed layer indices of the spec on a model of `num_layers` layers.
std::vector<int64_t> RoutedLayers(const JobSpec& spec, int64_t num_layers) {
  std::vector<int64_t> out;
  if (!IsRouted(spec)) return out;
  if (!spec.routing.layers.empty()) {
    std::set<int64_t> uniq(spec.routing.layers.begin(), spec.routing.layers.end());
    for (int64_t l : uniq) {
      if (l < num_layers) out.push_back(l);
    }
    return out;
  }
  const int64_t every = std::max<int64_t>(1, spec.routing.route_every_n_layers);
  for (int64_t l = 0; l < num_layers; l += every) out.push_back(l);
  return out;
}

// The fields that shrink the model's own state (weights, gradients, AdamW, checkpoint buffers).
std::string ModelSizeFields(const JobSpec& spec) {
  if (spec.kind == "finetune") {
    return spec.freeze_base ? "model_dir (a smaller model)"
                            : "freeze_base (train the routers only), model_dir (a smaller model)";
  }
  if (!spec.model.config_path.empty()) return "model.config_path (a smaller model)";
  return "model.hidden_size, model.num_layers, model.vocab_size";
}

int CpusAvailable() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace

absl::StatusOr<JobModelShape> ResolveJobModelShape(const JobSpec& spec) {
  if (spec.kind == "finetune") {
    return ShapeFromConfig("model_dir", (fs::path(spec.model_dir) / "config.json").string());
  }
  if (!spec.model.config_path.empty()) {
    return ShapeFromConfig("model.config_path", spec.model.config_path);
  }
  JobModelShape s;
  static_cast<model::ModelConfig&>(s) = ResolveModelSection(spec.model);
  s.source = "model";
  return s;
}

absl::Status ValidateJobSpecForModel(const JobSpec& spec, const JobModelShape& shape) {
  if (spec.data.seq_len > shape.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data.seq_len: ", spec.data.seq_len, " exceeds the model's ", "max_position_embeddings ",
        shape.max_position_embeddings, " (", shape.source, ")"));
  }
  for (size_t i = 0; i < spec.routing.layers.size(); ++i) {
    if (spec.routing.layers[i] >= shape.num_layers) {
      return absl::InvalidArgumentError(absl::StrCat(
          "routing.layers[", i, "]: ", spec.routing.layers[i], " is not a layer of the model (",
          shape.num_layers, " layers, ", shape.source, ")"));
    }
  }
  if (IsRouted(spec) && shape.intermediate_size % spec.routing.num_pathways != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "routing.num_pathways: ", spec.routing.num_pathways, " does not divide the model's ",
        "intermediate_size ", shape.intermediate_size, " (", shape.source, ")"));
  }
  return absl::OkStatus();
}

JobResourceEstimate EstimateJobResources(const JobSpec& spec, const JobModelShape& shape,
                                         const JobResourceOptions& options) {
  JobResourceEstimate e;
  const double V = static_cast<double>(shape.vocab_size);
  const double H = static_cast<double>(shape.hidden_size);
  const double L = static_cast<double>(shape.num_layers);
  const double I = static_cast<double>(shape.intermediate_size);
  const double heads = static_cast<double>(shape.num_heads);
  const double pos = static_cast<double>(shape.max_position_embeddings);
  const double R = spec.routing.router_hidden;
  const double Np = spec.routing.num_pathways;
  const double k = spec.routing.top_k;
  const double T = spec.data.seq_len;
  const double B = spec.optim.batch_size;
  const double accum = spec.optim.grad_accum;
  const double threads = std::max(1, options.threads);
  const bool cuda = spec.device != "cpu";
  const std::vector<int64_t> routed = RoutedLayers(spec, shape.num_layers);
  const double routed_n = static_cast<double>(routed.size());

  // Per block two LayerNorms, q/k/v (GPT-Neo without bias), the output projection with bias,
  // the MLP; a final LayerNorm; the token embedding, learned positions (not GPT-NeoX) and an
  // untied LM head (GPT-NeoX's embed_out). Routers: hidden -> router_hidden -> pathways per
  // routed layer.
  const bool neox = shape.family == model::ModelFamily::kGPTNeoX;
  const double qkv_bias = shape.family == model::ModelFamily::kGPTNeo ? 0 : 3 * H;
  const double block = 4 * H + 4 * H * H + qkv_bias + H + 2 * H * I + I + H;
  const double router = H * R + R + R * Np + Np;
  const double embeddings = V * H * (shape.tie_word_embeddings ? 1 : 2) + (neox ? 0 : pos * H);
  const double params = embeddings + L * block + 2 * H + routed_n * router;
  const double trainable = spec.freeze_base ? routed_n * router : params;
  e.parameters = static_cast<int64_t>(std::min(params, 9e18));
  e.trainable_parameters = static_cast<int64_t>(std::min(trainable, 9e18));
  e.weights = kF32 * params;
  e.gradients = kF32 * trainable;
  e.optimizer = 2 * kF32 * trainable;
  e.checkpoint = kF32 * params + 2 * kF32 * trainable;

  // Saved for backward per token and layer (fp32): LayerNorm inputs/outputs, q/k/v, attention
  // output and projection, residuals (~16 H), MLP input/activation/output (~3 I); routed layers
  // add the router's hidden layer, scores and masks; attention keeps a log-sum-exp per head on the
  // CPU's fused kernel and the [T, T] scores and probabilities per head elsewhere.
  // GPT-NeoX also keeps the rotated q and k (2 H).
  const bool fused_attention = !cuda && shape.num_heads > 0 && H / heads <= 64;
  const double attention = (fused_attention ? heads : 2 * heads * T) + (neox ? 2 * H : 0);
  const double tokens = B * T;
  e.activations =
      kF32 * tokens * (L * (16 * H + 3 * I + attention) + routed_n * (R + 4 * Np + I) + 6 * H);
  // Fresh routers are centred on one no-grad forward over batch_size x grad_accum sequences:
  // one block's transients and the residual stream are alive at a time.
  if (!routed.empty()) {
    e.router_centring = kF32 * tokens * accum * (8 * H + 2 * I + R + 2 * Np + attention);
  }
  // Fused LM loss on the CPU (single-threaded BLAS, model/cpu_threads.h): one [128, V] block and
  // one [V, H] grad_W accumulator per thread, plus grad_W and grad_h. On CUDA: [8192, V] chunks
  // of logits and probabilities.
  const double lm_tokens = tokens;
  e.lm_loss = cuda ? kF32 * (2 * std::min(8192.0, lm_tokens) * V + V * H + lm_tokens * H)
                   : kF32 * (threads * (128 * V + V * H) + V * H + lm_tokens * H);
  // Every micro-batch of a step is sampled before the step: int32 windows + int64 tensors.
  e.step_inputs = accum * B * ((T + 1) * 12 + 8);
  // Packed tokens (int32, at least ~3 bytes of text per token) in the cache and in the splits.
  e.data = 4.0 * static_cast<double>(options.data_bytes);
  // Events queued for the recorder: columns of 40 bytes + top-k pathways and weights.
  e.event_queue = static_cast<double>(options.event_queue_events) * (40 + 8 * k);
  // LibTorch + OpenBLAS + glibc arenas of a started job (measured ~350 MiB on a tiny CPU job),
  // BLAS buffers and stacks per thread.
  e.runtime = 384.0 * (1 << 20) + threads * 16.0 * (1 << 20) +
              std::max(1, options.tokenize_threads) * 8.0 * (1 << 20);

  const double step = std::max(e.activations + e.lm_loss, e.router_centring);
  const double tensors = e.weights + e.gradients + e.optimizer + e.checkpoint + step;
  const double host_fixed = e.step_inputs + e.data + e.event_queue + e.runtime;
  if (cuda) {
    e.device_bytes = tensors;
    e.host_bytes = host_fixed + e.weights + e.checkpoint;  // loaded and saved through the host
  } else {
    e.host_bytes = host_fixed + tensors;
  }

  // What to lower.
  std::vector<std::pair<double, std::string>> parts = {
      {e.activations, "optim.batch_size, data.seq_len"},
      {e.router_centring, "optim.batch_size x optim.grad_accum"},
      {e.lm_loss, cuda ? "optim.batch_size, data.seq_len" : "threads"},
      {e.step_inputs, "optim.grad_accum, optim.batch_size"},
      {e.weights + e.gradients + e.optimizer + e.checkpoint, ModelSizeFields(spec)},
      {e.data, "the data files"},
      {e.runtime, "threads"}};
  e.dominant_fields = std::max_element(parts.begin(), parts.end())->second;
  return e;
}

std::string FormatBytes(double b) {
  if (!(b >= 0)) return "?";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (b >= 1024 && u < 6) {
    b /= 1024;
    ++u;
  }
  if (b >= 1024) return absl::StrFormat("%.3g %s", b, units[u]);
  return u == 0 ? absl::StrFormat("%.0f B", b) : absl::StrFormat("%.1f %s", b, units[u]);
}

std::string JobResourceEstimate::Summary() const {
  std::vector<std::string> parts;
  auto add = [&](const char* name, double v) {
    if (v > 0) parts.push_back(absl::StrCat(name, " ", FormatBytes(v)));
  };
  add("weights", weights);
  add("gradients", gradients);
  add("AdamW", optimizer);
  add("checkpoint buffers", checkpoint);
  add("activations", activations);
  add("router centring", router_centring);
  add("LM loss", lm_loss);
  add("step inputs", step_inputs);
  add("data", data);
  add("event queue", event_queue);
  add("runtime", runtime);
  std::string out = absl::StrCat(FormatBytes(host_bytes), " host");
  if (device_bytes > 0) absl::StrAppend(&out, " + ", FormatBytes(device_bytes), " device");
  absl::StrAppend(&out, " (", parameters, " parameters; ", absl::StrJoin(parts, ", "), ")");
  return out;
}

int64_t JobDataBytes(const JobSpec& spec) {
  int64_t total = 0;
  for (const std::string* p : {&spec.data.train_path, &spec.data.valid_path}) {
    if (p->empty()) continue;
    std::error_code ec;
    uintmax_t n = fs::file_size(*p, ec);
    if (!ec) total += static_cast<int64_t>(n);
  }
  return total;
}

absl::Status CheckJobMemory(const JobResourceEstimate& e, int64_t limit_bytes,
                            const std::string& limit_name) {
  if (limit_bytes <= 0 || e.host_bytes <= static_cast<double>(limit_bytes)) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("job needs an estimated ", e.Summary(), ", more than the job memory limit of ",
                   FormatBytes(static_cast<double>(limit_bytes)), " (", limit_name, "); lower ",
                   e.dominant_fields));
}

int64_t MachineMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  int64_t mem = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
  // cgroup v2 limit of this process's group (containers), when set and lower.
  std::ifstream cg("/sys/fs/cgroup/memory.max");
  std::string v;
  if (cg >> v && v != "max") {
    try {
      int64_t limit = std::stoll(v);
      if (limit > 0 && (mem == 0 || limit < mem)) mem = limit;
    } catch (...) {
    }
  }
  return mem;
}

int ResolveJobThreads(int requested, int cap) {
  if (requested > 0) return requested;
  int n = CpusAvailable();
  return cap > 0 ? std::min(n, cap) : n;
}

}  // namespace monoroute::engine
