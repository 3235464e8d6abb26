// `monoroute bench train`: training-step throughput with random tokens -- forward, LM loss
// (+ 0.01 x GLBL when --routed), backward, AdamW: the workload of ../shared/bench/bench.py. The
// architecture is TinyStories-1M's (GPT-Neo, vocab 50257) by default, or Pythia-70M's
// (`--arch gpt-neox`, vocab 50304) or GPT-2 small's (`--arch gpt2`), resized by --hidden and
// --layers. With --profile (implied by --arch) it prints each phase's time and GFLOP/s against
// the machine's measured sgemm and FMA peaks. With --json the last line is one JSON object.
#include <time.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cli/bench_train_ranks.h"
#include "clients/cli/command.h"
#include "common/base/status_macros.h"
#include "common/model/adamw.h"
#include "common/model/balancing.h"
#include "common/model/cpu_attention.h"
#include "common/model/cpu_isa.h"
#include "common/model/cpu_linear.h"
#include "common/model/cpu_peak.h"
#include "common/model/cpu_threads.h"
#include "common/model/cuda_graph.h"
#include "common/model/gpt_neo.h"
#include "common/model/lm_loss.h"
#include "common/tensor_io/torch_status.h"

namespace monoroute::cli {
namespace {

struct BenchTrainFlags {
  int64_t batch = 16;              // sequences per step
  int64_t seq = 128;               // tokens per sequence
  int64_t steps = 10;              // timed steps
  int64_t warmup = 2;              // untimed steps first
  std::string device = "cpu";      // cpu | cuda | cuda:N
  bool routed = false;             // route every other MLP (--pathways, --top-k) + GLBL
  int64_t pathways = 16;           // routed: pathways per routed MLP
  int64_t top_k = 4;               // routed: pathways each token runs
  int threads = 0;                 // CPU intra-op threads (0: every CPU available)
  bool json = false;               // print a JSON object as the last line
  std::string precision = "auto";  // fp32 | bf16 | auto (bf16 on CUDA, fp32 on CPU)
  std::string graph = "auto";      // on | off | auto (CUDA graphs on CUDA when supported)
  std::string mlp = "auto";        // routed MLP compute path: mask | gather | auto
  std::string attention = "auto";  // CPU attention: fused | explicit | auto (= fused)
  std::string linear = "auto";     // CPU linear layers: split | aten | auto (= aten)
  int64_t chunk = 0;               // fused LM-loss chunk (tokens; 0 = automatic)
  int64_t seed = 0;                // random data / init seed
  bool profile = false;            // print mean ms of forward / loss / backward / optimizer (CPU)
  std::string isa = "auto";        // CPU kernel path: auto | avx512 | avx2 | generic
  std::string lm_loss = "auto";    // CPU fp32 LM-loss kernel: auto | fused | blas
  int64_t hidden = 64;             // hidden size (intermediate 4x; a multiple of the 16 heads)
  std::string arch = "gpt-neo";    // gpt-neo (TinyStories-1M) | gpt-neox (Pythia-70M) | gpt2
  bool arch_given = false;         // --arch was on the command line (implies --profile)
  int64_t layers = 0;              // blocks (0: the architecture's own count)
  int nproc_per_node = 1;          // > 1: also run as N data-parallel ranks (bench_train_ranks.h)
};

// Model FLOPs of one step's phases (multiply-adds x 2), for GFLOP/s in --profile: the matmuls of
// the forward pass (q/k/v/out projections, causal attention over the keys each query sees, dense
// MLP, routers), the LM loss as its three GEMMs (logits, grad hidden, grad W; the fused CPU kernel
// computes the logits twice, so it executes 4/3 of this), backward = 2 x forward.
struct StepFlops {
  double forward = 0, lm_loss = 0, backward = 0;
};

StepFlops CountFlops(const model::ModelConfig& cfg, const std::optional<model::RoutingConfig>& r,
                     int64_t batch, int64_t seq) {
  const double n = static_cast<double>(batch * seq), h = static_cast<double>(cfg.hidden_size);
  const double inter = static_cast<double>(cfg.intermediate_size);
  std::vector<int64_t> routed;
  if (r) routed = r->RoutedLayers(cfg.num_layers);
  StepFlops f;
  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    double keys = 0;  // sum over query positions of the keys attended
    for (int64_t i = 0; i < seq; ++i) {
      keys +=
          static_cast<double>(cfg.is_local(l) ? std::min<int64_t>(i + 1, cfg.window_size) : i + 1);
    }
    f.forward +=
        2 * n * h * h * 4 + 2 * 2 * static_cast<double>(batch) * keys * h + 2 * n * h * inter * 2;
    if (std::find(routed.begin(), routed.end(), l) != routed.end()) {
      const double rh = static_cast<double>(r->router_hidden);
      f.forward += 2 * n * (h * rh + rh * static_cast<double>(r->num_pathways));
    }
  }
  f.backward = 2 * f.forward;
  f.lm_loss = 3 * 2 * n * static_cast<double>(cfg.vocab_size) * h;
  return f;
}

// The benchmarked architecture: --arch's family at its reference size, resized by --hidden
// (intermediate 4x) and --layers. GPT-NeoX and GPT-2 keep 64-dim heads where --hidden allows.
absl::StatusOr<model::ModelConfig> BenchModelConfig(const BenchTrainFlags& f) {
  model::ModelConfig cfg;
  if (f.arch == "gpt-neo") {
    cfg = model::ModelConfig::TinyStories1M();
  } else if (f.arch == "gpt-neox") {
    cfg = model::ModelConfig::Pythia70M();
  } else if (f.arch == "gpt2") {
    cfg = model::ModelConfig::Gpt2Small();
  } else {
    return UsageError("--arch must be gpt-neo, gpt-neox or gpt2");
  }
  if (f.layers < 0 || f.layers > 64) return UsageError("--layers must be in [0, 64]");
  cfg.hidden_size = f.hidden;
  cfg.intermediate_size = 4 * f.hidden;
  if (f.layers > 0) cfg.num_layers = f.layers;
  const bool neo = cfg.family == model::ModelFamily::kGPTNeo;
  if (!neo) cfg.num_heads = f.hidden % 64 == 0 ? f.hidden / 64 : 16;
  cfg.attention_layers.clear();
  for (int64_t i = 0; i < cfg.num_layers; ++i) {
    cfg.attention_layers.push_back(neo && i % 2 == 1 ? "local" : "global");
  }
  RETURN_IF_ERROR(cfg.Validate("bench train"));
  return cfg;
}

using Clock = std::chrono::steady_clock;
double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// CPU time of the whole process (all threads, OpenMP spin-waits included), in ms: on a shared
// machine the wall time of a phase includes time other processes held the cores, this does not.
double ProcessCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

// Per-step means of the timed phases and the measured peaks they are compared with.
struct PhaseReport {
  double sgemm_peak = 0;      // GFLOP/s, MeasureSgemmPeakGflops on the threads used (wall)
  double sgemm_core_cpu = 0;  // its GFLOP per second of one thread's CPU time
  double fma_peak = 0;        // GFLOP/s, MeasurePeakGflops
  double step_gflops = 0;     // model GFLOP/s of the whole step, wall (AdamW's not counted)
  double step_core_cpu = 0;   // the step's GFLOP per second of process CPU time (per core)
};

// AdamW's elementwise flops per parameter (decay, two moment updates, bias corrections, sqrt,
// divide, update): ~12; memory-bound, so its GFLOP/s is far below any GEMM peak.
constexpr double kAdamWFlopsPerParam = 12;

// Prints the phase table (ms, CPU ms, GFLOP, GFLOP/s, % of the sgemm peak) of `--profile`.
PhaseReport PrintPhases(const BenchTrainFlags& f, const model::ModelConfig& cfg,
                        const std::optional<model::RoutingConfig>& routing,
                        const model::LmLossOptions& lo, const double* phase_ms,
                        const double* phase_cpu_ms, const std::vector<torch::Tensor>& params) {
  const double k = 1.0 / static_cast<double>(f.steps);
  const model::CpuIsa isa = model::ActiveCpuIsa();
  const int threads = at::get_num_threads();
  PhaseReport rep;
  rep.sgemm_peak = model::MeasureSgemmPeakGflops(threads, 1024, 0.3, &rep.sgemm_core_cpu);
  rep.fma_peak = model::MeasurePeakGflops(isa, threads);
  const StepFlops fl = CountFlops(cfg, routing, f.batch, f.seq);
  double num_params = 0;
  for (const torch::Tensor& p : params) num_params += static_cast<double>(p.numel());
  std::printf(
      "  %s L=%ld H=%ld heads=%ld I=%ld V=%ld, %.1fM parameters; CPU path %s (supported: %s), "
      "LM loss kernel %s, %d threads\n",
      model::ModelFamilyName(cfg.family), static_cast<long>(cfg.num_layers),
      static_cast<long>(cfg.hidden_size), static_cast<long>(cfg.num_heads),
      static_cast<long>(cfg.intermediate_size), static_cast<long>(cfg.vocab_size),
      num_params * 1e-6, model::CpuIsaName(isa), model::CpuIsaName(model::SupportedCpuIsa()),
      model::CpuLmLossKernelName(cfg.hidden_size, lo), threads);
  std::printf(
      "  peak: %.0f GFLOP/s measured sgemm (1024^3 at::mm per thread, %d threads; %.0f GFLOP per "
      "CPU-second of a thread) | %.0f GFLOP/s %s FMA throughput\n",
      rep.sgemm_peak, threads, rep.sgemm_core_cpu, rep.fma_peak, model::CpuIsaName(isa));
  std::printf("  %-46s %9s %9s %9s %9s %11s %8s\n", "phase (per step)", "ms", "cpu ms", "GFLOP",
              "GFLOP/s", "% sgemm pk", "% FMA pk");
  auto row = [&](const char* name, double ms, double cpu_ms, double flops) {
    const double gf = flops * 1e-9, rate = gf / (ms * 1e-3);
    std::printf("  %-46s %9.1f %9.1f %9.2f %9.1f %10.0f%% %7.0f%%\n", name, ms, cpu_ms, gf, rate,
                100 * rate / rep.sgemm_peak, 100 * rate / rep.fma_peak);
    return rate;
  };
  row("forward", phase_ms[0] * k, phase_cpu_ms[0] * k, fl.forward);
  row("lm loss + balance, with its grads (3 GEMMs)", phase_ms[1] * k, phase_cpu_ms[1] * k,
      fl.lm_loss);
  row("backward (2 x forward)", phase_ms[2] * k, phase_cpu_ms[2] * k, fl.backward);
  row("optimizer (adamw, ~12 flops/param)", phase_ms[3] * k, phase_cpu_ms[3] * k,
      kAdamWFlopsPerParam * num_params);
  double all_ms = 0, all_cpu_ms = 0;
  for (int i = 0; i < 4; ++i) {
    all_ms += phase_ms[i] * k;
    all_cpu_ms += phase_cpu_ms[i] * k;
  }
  rep.step_gflops = row("step (model flops; adamw's not counted)", all_ms, all_cpu_ms,
                        fl.forward + fl.lm_loss + fl.backward);
  const double flops = fl.forward + fl.lm_loss + fl.backward;
  rep.step_core_cpu = flops * 1e-9 / (all_cpu_ms * 1e-3);
  std::printf(
      "  step: %.0f tokens/s; %.0f%% of the measured sgemm peak by wall time, %.0f%% by CPU time "
      "(%.1f GFLOP per CPU-second vs the sgemm's %.1f: what the step reaches of the cores it got; "
      "spin-waits count against it)\n",
      static_cast<double>(f.batch * f.seq) / (all_ms * 1e-3),
      100 * rep.step_gflops / rep.sgemm_peak, 100 * rep.step_core_cpu / rep.sgemm_core_cpu,
      rep.step_core_cpu, rep.sgemm_core_cpu);
  std::printf(
      "  (cpu ms: CPU time of all threads, OpenMP spin-waits included; with --threads 1 it "
      "excludes time other processes held the core)\n");
  return rep;
}

// The flag values that need no model: a usage error naming the flag.
absl::Status CheckBenchFlags(const BenchTrainFlags& f) {
  if (f.lm_loss != "auto" && f.lm_loss != "fused" && f.lm_loss != "blas") {
    return UsageError("--lm-loss must be fused, blas or auto");
  }
  if (f.hidden <= 0 || f.hidden % 16 != 0) return UsageError("--hidden must be a multiple of 16");
  if (f.precision != "bf16" && f.precision != "fp32" && f.precision != "auto") {
    return UsageError("--precision must be fp32, bf16 or auto");
  }
  if (f.attention != "auto" && f.attention != "fused" && f.attention != "explicit") {
    return UsageError("--attention must be fused, explicit or auto");
  }
  if (f.linear != "auto" && f.linear != "split" && f.linear != "aten") {
    return UsageError("--linear must be split, aten or auto");
  }
  return absl::OkStatus();
}

// One benchmarked training step: the model, its optimizer and a fixed random batch, with
// per-phase wall and CPU times accumulated while `timing`.
struct BenchStep {
  model::GPTNeo net{nullptr};
  std::unique_ptr<model::FusedAdamW> opt;
  torch::Tensor ids, labels, last_loss;
  model::LmLossOptions lo;
  model::ForwardOptions fo;
  engine::DistributedContext* dp = nullptr;
  int64_t num_pathways = 0;
  int64_t hidden = 0;
  bool timing = false;
  double phase_ms[4] = {0, 0, 0, 0}, phase_cpu_ms[4] = {0, 0, 0, 0};

  // Forward, LM loss (+ GLBL over the batch), backward (+ gradient all-reduce), AdamW.
  void operator()() {
    const double c_a = timing ? ProcessCpuMs() : 0;
    const auto t_a = Clock::now();
    model::ForwardOutput out = net->forward(ids, fo);
    const auto t_b = Clock::now();
    const double c_b = timing ? ProcessCpuMs() : 0;
    torch::Tensor loss =
        model::FusedLmLoss(out.final_norm.reshape({-1, hidden}), net->lm_head_weight(), labels, lo);
    if (!out.routing.empty()) {
      // GLBL over the whole batch (one micro-batch per step here), f treated as constant.
      std::vector<torch::Tensor> cs, ls;
      for (const auto& r : out.routing) {
        cs.push_back(model::AssignmentCounts(r.topk_indices, num_pathways));
      }
      if (dp) SumOverRanks(*dp, cs);  // f over the global batch
      for (size_t i = 0; i < cs.size(); ++i) {
        ls.push_back(model::BalanceLoss(out.routing[i].probs, cs[i] / cs[i].sum()));
      }
      loss = loss + 0.01 * torch::stack(ls).mean();
    }
    const auto t_c = Clock::now();
    const double c_c = timing ? ProcessCpuMs() : 0;
    opt->ZeroGrad();
    loss.backward();
    if (dp) AverageOverRanks(*dp, net->parameters());
    const auto t_d = Clock::now();
    const double c_d = timing ? ProcessCpuMs() : 0;
    opt->Step();
    last_loss = loss.detach();
    if (!timing) return;
    const auto t_e = Clock::now();
    const double c_e = ProcessCpuMs();
    const Clock::time_point t[5] = {t_a, t_b, t_c, t_d, t_e};
    const double c[5] = {c_a, c_b, c_c, c_d, c_e};
    for (int i = 0; i < 4; ++i) {
      phase_ms[i] += Ms(t[i], t[i + 1]);
      phase_cpu_ms[i] += c[i + 1] - c[i];
    }
  }
};

// The model, optimizer and batch of the benchmark on `device`.
absl::Status MakeBenchStep(const BenchTrainFlags& f, const model::ModelConfig& cfg,
                           const std::optional<model::RoutingConfig>& routing,
                           const torch::Device& device, torch::Dtype dt, int64_t local_batch,
                           BenchStep* s) {
  torch::manual_seed(static_cast<uint64_t>(f.seed));
  ASSIGN_OR_RETURN(s->net, TorchCall("model", [&]() -> absl::StatusOr<model::GPTNeo> {
                     model::GPTNeo m(cfg, routing);
                     m->to(device);
                     m->train();
                     return m;
                   }));
  model::SetCpuAttentionEnabled(f.attention != "explicit");
  model::SetCpuLinearEnabled(f.linear == "split");
  if (f.mlp == "gather") s->net->SetRoutedCompute(model::RoutedCompute::kGather);
  if (f.mlp == "mask") s->net->SetRoutedCompute(model::RoutedCompute::kMask);
  s->opt = std::make_unique<model::FusedAdamW>(s->net->parameters(), model::AdamWOptions{});
  torch::Tensor data =
      torch::randint(0, cfg.vocab_size, {local_batch, f.seq + 1}, torch::kLong).to(device);
  s->ids = data.narrow(1, 0, f.seq).contiguous();
  s->labels = data.narrow(1, 1, f.seq).reshape({-1}).contiguous();
  s->lo.chunk_tokens = f.chunk;
  s->lo.compute_dtype = dt;
  s->lo.cpu_kernel = f.lm_loss == "fused"  ? model::CpuLmKernel::kFused
                     : f.lm_loss == "blas" ? model::CpuLmKernel::kBlas
                                           : model::CpuLmKernel::kAuto;
  s->fo.return_logits = false;
  s->fo.compute_dtype = dt;
  s->num_pathways = routing ? routing->num_pathways : 0;
  s->hidden = cfg.hidden_size;
  return absl::OkStatus();
}

// What one benchmark run measured.
struct BenchRun {
  double warm_s = 0, dt_s = 0, loss = 0;
  bool use_graph = false;
};

// Warms up (capturing a CUDA graph when asked) and times f.steps steps.
absl::StatusOr<BenchRun> TimeSteps(const BenchTrainFlags& f, const torch::Device& device,
                                   bool use_graph, BenchStep& step) {
  BenchRun run;
  std::unique_ptr<model::CudaGraphStep> graph;
  auto sync = [&]() {
    if (device.is_cuda()) (void)model::CudaGraphStep::Synchronize();
  };
  const auto t_setup = Clock::now();
  if (use_graph) {
    auto g = model::CudaGraphStep::Capture([&]() { step(); },
                                           std::max<int>(3, static_cast<int>(f.warmup)));
    if (!g.ok()) {
      if (f.graph == "on") return g.status();
      std::cerr << "CUDA graph capture failed (" << g.status().message() << "); running eagerly\n";
      use_graph = false;
    } else {
      graph = std::move(*g);
    }
  }
  RETURN_IF_ERROR(TorchCall("warmup", [&]() {
    if (!use_graph) {
      for (int64_t i = 0; i < f.warmup; ++i) step();
    }
    sync();
  }));
  run.warm_s = std::chrono::duration<double>(Clock::now() - t_setup).count();
  step.timing = (f.profile || f.arch_given) && !device.is_cuda();
  const auto t0 = Clock::now();
  RETURN_IF_ERROR(TorchCall("timed steps", [&]() -> absl::Status {
    for (int64_t i = 0; i < f.steps; ++i) {
      if (use_graph) {
        RETURN_IF_ERROR(graph->Replay());
      } else {
        step();
      }
    }
    sync();
    return absl::OkStatus();
  }));
  run.dt_s = std::chrono::duration<double>(Clock::now() - t0).count();
  run.loss = step.last_loss.defined() ? step.last_loss.to(torch::kCPU).item<double>() : 0.0;
  run.use_graph = use_graph;
  return run;
}

// The JSON result line of a run.
nlohmann::json BenchJson(const BenchTrainFlags& f, const model::ModelConfig& cfg,
                         const torch::Device& device, const std::string& dev_name, bool bf16,
                         const BenchStep& step, const BenchRun& run, const PhaseReport* report) {
  const double tokens_per_s = static_cast<double>(f.batch * f.seq * f.steps) / run.dt_s;
  nlohmann::json j = {
      {"tokens_per_s", tokens_per_s},
      {"ms_per_step", 1000.0 * run.dt_s / static_cast<double>(f.steps)},
      {"device", dev_name},
      {"batch", f.batch},
      {"seq", f.seq},
      {"steps", f.steps},
      {"routed", f.routed},
      {"pathways", f.routed ? f.pathways : 0},
      {"top_k", f.routed ? f.top_k : 0},
      {"precision", bf16 ? "bf16" : "fp32"},
      {"cuda_graph", run.use_graph},
      {"threads", at::get_num_threads()},
      {"cpu_isa", model::CpuIsaName(model::ActiveCpuIsa())},
      {"lm_loss_kernel",
       device.is_cuda() ? "cuda" : model::CpuLmLossKernelName(cfg.hidden_size, step.lo)},
      {"warmup_s", run.warm_s},
      {"arch", f.arch},
      {"hidden", cfg.hidden_size},
      {"layers", cfg.num_layers},
      {"loss", run.loss}};
  if (report != nullptr) {
    j["sgemm_peak_gflops"] = report->sgemm_peak;
    j["fma_peak_gflops"] = report->fma_peak;
    j["step_gflops"] = report->step_gflops;
    j["step_fraction_of_sgemm_peak"] = report->step_gflops / report->sgemm_peak;
    j["sgemm_gflops_per_cpu_s"] = report->sgemm_core_cpu;
    j["step_gflops_per_cpu_s"] = report->step_core_cpu;
    j["step_fraction_of_sgemm_peak_cpu"] = report->step_core_cpu / report->sgemm_core_cpu;
  }
  return j;
}

absl::Status RunBenchTrain(const BenchTrainFlags& f) {
  if (f.batch <= 0 || f.seq <= 1 || f.steps <= 0 || f.warmup < 0) {
    return UsageError("--batch, --steps must be positive, --seq > 1, --warmup >= 0");
  }
  if (f.nproc_per_node > 1 && std::getenv("WORLD_SIZE") == nullptr) {
    if (f.batch % f.nproc_per_node != 0) {
      return UsageError("--batch (the global batch) must be divisible by --nproc-per-node");
    }
    return RunBenchTrainRanks(f.nproc_per_node, f.threads, f.json || JsonOutput());
  }
  // A rank of a data-parallel run: its share of the global batch; counts and gradients summed.
  ASSIGN_OR_RETURN(std::unique_ptr<engine::DistributedContext> dp, BenchRanksFromEnvironment());
  const int64_t local_batch = dp ? f.batch / dp->world_size() : f.batch;
  ASSIGN_OR_RETURN(torch::Device device,
                   TorchCall("--device", [&]() -> absl::StatusOr<torch::Device> {
                     return torch::Device(f.device);
                   }));
  if (device.is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError("--device " + f.device + ": CUDA is not available");
  }
  model::ConfigureCpuThreads(f.threads);
  if (f.isa != "auto") {  // auto: MONOROUTE_CPU_ISA if set, else the best the CPU supports
    if (absl::Status st = model::SetCpuIsa(f.isa); !st.ok()) {
      return absl::Status(st.code(), absl::StrCat("--isa: ", st.message()));
    }
  }
  RETURN_IF_ERROR(CheckBenchFlags(f));
  const bool bf16 = f.precision == "bf16" || (f.precision == "auto" && device.is_cuda());
  const bool use_graph = f.graph == "on" || (f.graph == "auto" && device.is_cuda() &&
                                             model::CudaGraphStep::Supported());
  if (use_graph && !device.is_cuda()) return UsageError("--graph on needs --device cuda");
  ASSIGN_OR_RETURN(const model::ModelConfig cfg, BenchModelConfig(f));
  if (f.seq > cfg.max_position_embeddings) {
    return UsageError(absl::StrCat("--seq must be at most ", cfg.max_position_embeddings,
                                   " (max positions of --arch ", f.arch, ")"));
  }
  std::optional<model::RoutingConfig> routing;
  if (f.routed) {
    routing = model::RoutingConfig{};
    routing->num_pathways = f.pathways;
    routing->top_k = f.top_k;
    absl::Status valid = routing->Validate(cfg);  // P range, top_k <= P, P divides the MLP
    if (!valid.ok()) return UsageError(absl::StrCat("--pathways / --top-k: ", valid.message()));
  }
  BenchStep step;
  step.dp = dp.get();
  RETURN_IF_ERROR(MakeBenchStep(f, cfg, routing, device, bf16 ? torch::kBFloat16 : torch::kFloat,
                                local_batch, &step));
  ASSIGN_OR_RETURN(BenchRun run, TimeSteps(f, device, use_graph, step));
  const double tokens_per_s = static_cast<double>(f.batch * f.seq * f.steps) / run.dt_s;
  std::string dev_name = device.is_cuda() ? "cuda" : absl::StrCat("cpu x", at::get_num_threads());
  std::printf("bench train: %s %s %s%s B=%ld T=%ld: %.0f tokens/s, %.2f ms/step, loss %.4f\n",
              dev_name.c_str(), f.routed ? "routed" : "dense", bf16 ? "bf16" : "fp32",
              run.use_graph ? " cuda-graph" : "", static_cast<long>(f.batch),
              static_cast<long>(f.seq), tokens_per_s,
              1000.0 * run.dt_s / static_cast<double>(f.steps), run.loss);
  PhaseReport report;
  if (step.timing) {
    report = PrintPhases(f, cfg, routing, step.lo, step.phase_ms, step.phase_cpu_ms,
                         step.net->parameters());
  }
  if (f.json || JsonOutput()) {
    std::fflush(stdout);
    PrintJson(
        BenchJson(f, cfg, device, dev_name, bf16, step, run, step.timing ? &report : nullptr));
  }
  return absl::OkStatus();
}

void AddFlags(CLI::App* sub, BenchTrainFlags* f) {
  sub->add_option("--batch", f->batch, "Sequences per step")->capture_default_str();
  sub->add_option("--seq", f->seq, "Tokens per sequence")->capture_default_str();
  sub->add_option("--steps", f->steps, "Timed steps")->capture_default_str();
  sub->add_option("--warmup", f->warmup, "Untimed warm-up steps")->capture_default_str();
  sub->add_option("--device", f->device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_flag("--routed", f->routed, "Route every other MLP (--pathways, --top-k) with GLBL");
  sub->add_option("--pathways", f->pathways, "Routed: pathways per routed MLP (1-256)")
      ->capture_default_str();
  sub->add_option("--top-k", f->top_k, "Routed: pathways each token runs (1 to --pathways)")
      ->capture_default_str();
  sub->add_option("--threads", f->threads, "CPU threads (0: every CPU available)");
  sub->add_flag("--json", f->json, "Print one JSON object as the last line");
  sub->add_option("--precision", f->precision, "fp32, bf16 or auto (bf16 on CUDA)")
      ->capture_default_str();
  sub->add_option("--graph", f->graph, "CUDA graphs: on, off or auto")->capture_default_str();
  sub->add_option("--mlp", f->mlp, "Routed MLP path: mask, gather or auto")->capture_default_str();
  sub->add_option("--attention", f->attention, "CPU attention: fused, explicit or auto (fused)")
      ->capture_default_str();
  sub->add_option("--linear", f->linear,
                  "CPU linear layers: split (GEMMs split over the threads), aten (one BLAS call) "
                  "or auto (aten)")
      ->capture_default_str();
  sub->add_option("--chunk", f->chunk, "Fused LM-loss chunk in tokens (0: automatic)");
  sub->add_option("--seed", f->seed, "Seed of the random data and init");
  sub->add_flag("--profile", f->profile,
                "Print the CPU path and each phase's mean time and GFLOP/s next to the peak (CPU)");
  sub->add_option("--isa", f->isa,
                  "CPU kernel path: avx512, avx2, generic or auto (MONOROUTE_CPU_ISA if set, "
                  "else the best the CPU supports)")
      ->capture_default_str();
  sub->add_option("--lm-loss", f->lm_loss, "CPU fp32 LM-loss kernel: fused, blas or auto")
      ->capture_default_str();
  sub->add_option("--nproc-per-node", f->nproc_per_node,
                  "Also run as N data-parallel ranks (Gloo, same global --batch, --threads each) "
                  "and compare with 1 rank x N*threads");
  sub->add_option("--hidden", f->hidden,
                  "Hidden size (intermediate 4x; GPT-Neo 16 heads, others 64-dim heads)")
      ->capture_default_str();
  CLI::Option* arch = sub->add_option(
      "--arch", f->arch,
      "gpt-neo (TinyStories-1M), gpt-neox (Pythia-70M) or gpt2 (GPT-2 small); implies --profile");
  arch->capture_default_str()->each([f](const std::string&) { f->arch_given = true; });
  sub->add_option("--layers", f->layers, "Blocks (0: the architecture's own count)")
      ->capture_default_str();
}

MONOROUTE_REGISTER_COMMAND(
    bench_train,
    Command<BenchTrainFlags>(
        "bench train",
        "Training-step throughput (random tokens) on TinyStories-1M, Pythia-70M or GPT-2 shapes",
        AddFlags, RunBenchTrain));

}  // namespace
}  // namespace monoroute::cli
