// `monoroute bench train`: training-step throughput on TinyStories-1M's architecture (vocab
// 50257) with random tokens -- forward, LM loss (+ 0.01 x GLBL when --routed), backward, AdamW:
// the workload of ../shared/bench/bench.py. With --json the last line is one JSON object.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/cli/command.h"
#include "common/base/status_macros.h"
#include "common/model/adamw.h"
#include "common/model/balancing.h"
#include "common/model/cpu_attention.h"
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
  bool routed = false;             // route every other MLP (16 pathways, top-4) + GLBL
  int threads = 0;                 // CPU intra-op threads (0: every CPU available)
  bool json = false;               // print a JSON object as the last line
  std::string precision = "auto";  // fp32 | bf16 | auto (bf16 on CUDA, fp32 on CPU)
  std::string graph = "auto";      // on | off | auto (CUDA graphs on CUDA when supported)
  std::string mlp = "auto";        // routed MLP compute path: mask | gather | auto
  std::string attention = "auto";  // CPU attention: fused | explicit | auto (= fused)
  int64_t chunk = 0;               // fused LM-loss chunk (tokens; 0 = automatic)
  int64_t seed = 0;                // random data / init seed
  bool profile = false;            // print mean ms of forward / loss / backward / optimizer (CPU)
};

using Clock = std::chrono::steady_clock;
double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

absl::Status RunBenchTrain(const BenchTrainFlags& f) {
  if (f.batch <= 0 || f.seq <= 1 || f.steps <= 0 || f.warmup < 0) {
    return UsageError("--batch, --steps must be positive, --seq > 1, --warmup >= 0");
  }
  if (f.seq > 2048) return UsageError("--seq must be at most 2048 (max positions)");
  ASSIGN_OR_RETURN(torch::Device device,
                   TorchCall("--device", [&]() -> absl::StatusOr<torch::Device> {
                     return torch::Device(f.device);
                   }));
  if (device.is_cuda() && !torch::cuda::is_available()) {
    return absl::FailedPreconditionError("--device " + f.device + ": CUDA is not available");
  }
  model::ConfigureCpuThreads(f.threads);
  const bool bf16 = f.precision == "bf16" || (f.precision == "auto" && device.is_cuda());
  if (f.precision != "bf16" && f.precision != "fp32" && f.precision != "auto") {
    return UsageError("--precision must be fp32, bf16 or auto");
  }
  bool use_graph = f.graph == "on" ||
                   (f.graph == "auto" && device.is_cuda() && model::CudaGraphStep::Supported());
  if (use_graph && !device.is_cuda()) return UsageError("--graph on needs --device cuda");
  const torch::Dtype dt = bf16 ? torch::kBFloat16 : torch::kFloat;

  model::GPTNeoConfig cfg = model::GPTNeoConfig::TinyStories1M();
  std::optional<model::RoutingConfig> routing;
  if (f.routed) routing = model::RoutingConfig{};
  torch::manual_seed(static_cast<uint64_t>(f.seed));
  ASSIGN_OR_RETURN(model::GPTNeo net, TorchCall("model", [&]() -> absl::StatusOr<model::GPTNeo> {
                     model::GPTNeo m(cfg, routing);
                     m->to(device);
                     m->train();
                     return m;
                   }));
  if (f.attention != "auto" && f.attention != "fused" && f.attention != "explicit") {
    return UsageError("--attention must be fused, explicit or auto");
  }
  model::SetCpuAttentionEnabled(f.attention != "explicit");
  if (f.mlp == "gather") net->SetRoutedCompute(model::RoutedCompute::kGather);
  if (f.mlp == "mask") net->SetRoutedCompute(model::RoutedCompute::kMask);
  model::FusedAdamW opt(net->parameters(), model::AdamWOptions{});
  torch::Tensor data =
      torch::randint(0, cfg.vocab_size, {f.batch, f.seq + 1}, torch::kLong).to(device);
  torch::Tensor ids = data.narrow(1, 0, f.seq).contiguous();
  torch::Tensor labels = data.narrow(1, 1, f.seq).reshape({-1}).contiguous();
  model::LmLossOptions lo;
  lo.chunk_tokens = f.chunk;
  lo.compute_dtype = dt;
  model::ForwardOptions fo;
  fo.return_logits = false;
  fo.compute_dtype = dt;
  torch::Tensor last_loss;
  const int64_t p = routing ? routing->num_pathways : 0;

  double phase_ms[4] = {0, 0, 0, 0};
  bool timing = false;
  auto step = [&]() {
    const auto t_a = Clock::now();
    model::ForwardOutput out = net->forward(ids, fo);
    const auto t_b = Clock::now();
    torch::Tensor loss = model::FusedLmLoss(out.final_norm.reshape({-1, cfg.hidden_size}),
                                            net->lm_head_weight(), labels, lo);
    if (!out.routing.empty()) {
      // GLBL over the whole batch (one micro-batch per step here), f treated as constant.
      std::vector<torch::Tensor> ls;
      for (const auto& r : out.routing) {
        torch::Tensor c = model::AssignmentCounts(r.topk_indices, p);
        ls.push_back(model::BalanceLoss(r.probs, c / c.sum()));
      }
      loss = loss + 0.01 * torch::stack(ls).mean();
    }
    const auto t_c = Clock::now();
    opt.ZeroGrad();
    loss.backward();
    const auto t_d = Clock::now();
    opt.Step();
    last_loss = loss.detach();
    if (timing) {
      const auto t_e = Clock::now();
      phase_ms[0] += Ms(t_a, t_b);
      phase_ms[1] += Ms(t_b, t_c);
      phase_ms[2] += Ms(t_c, t_d);
      phase_ms[3] += Ms(t_d, t_e);
    }
  };

  std::unique_ptr<model::CudaGraphStep> graph;
  auto sync = [&]() {
    if (device.is_cuda()) (void)model::CudaGraphStep::Synchronize();
  };
  const auto t_setup = std::chrono::steady_clock::now();
  if (use_graph) {
    auto g = model::CudaGraphStep::Capture(step, std::max<int>(3, static_cast<int>(f.warmup)));
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
  const double warm_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_setup).count();
  timing = f.profile && !device.is_cuda();
  const auto t0 = std::chrono::steady_clock::now();
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
  const double dt_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double tokens_per_s = static_cast<double>(f.batch * f.seq * f.steps) / dt_s;
  const double loss = last_loss.defined() ? last_loss.to(torch::kCPU).item<double>() : 0.0;
  std::string dev_name = device.is_cuda() ? "cuda" : absl::StrCat("cpu x", at::get_num_threads());
  std::printf("bench train: %s %s %s%s B=%ld T=%ld: %.0f tokens/s, %.2f ms/step, loss %.4f\n",
              dev_name.c_str(), f.routed ? "routed" : "dense", bf16 ? "bf16" : "fp32",
              use_graph ? " cuda-graph" : "", static_cast<long>(f.batch), static_cast<long>(f.seq),
              tokens_per_s, 1000.0 * dt_s / static_cast<double>(f.steps), loss);
  if (timing) {
    const double k = 1.0 / static_cast<double>(f.steps);
    std::printf(
        "  per step: forward %.1f ms, lm+balance loss fwd (incl. its grads) %.1f ms, "
        "backward %.1f ms, adamw %.1f ms\n",
        phase_ms[0] * k, phase_ms[1] * k, phase_ms[2] * k, phase_ms[3] * k);
  }
  if (f.json) {
    nlohmann::json j = {{"tokens_per_s", tokens_per_s},
                        {"ms_per_step", 1000.0 * dt_s / static_cast<double>(f.steps)},
                        {"device", dev_name},
                        {"batch", f.batch},
                        {"seq", f.seq},
                        {"steps", f.steps},
                        {"routed", f.routed},
                        {"precision", bf16 ? "bf16" : "fp32"},
                        {"cuda_graph", use_graph},
                        {"threads", at::get_num_threads()},
                        {"warmup_s", warm_s},
                        {"loss", loss}};
    std::cout << j.dump() << std::endl;
  }
  return absl::OkStatus();
}

MONOROUTE_REGISTER_COMMAND(bench_train, [](CLI::App& app) {
  CLI::App* bench = GetOrAddGroup(app, "bench", "Benchmarks");
  CLI::App* sub = bench->add_subcommand(
      "train", "Training-step throughput on TinyStories-1M's architecture (random tokens)");
  auto f = std::make_shared<BenchTrainFlags>();
  sub->add_option("--batch", f->batch, "Sequences per step")->capture_default_str();
  sub->add_option("--seq", f->seq, "Tokens per sequence")->capture_default_str();
  sub->add_option("--steps", f->steps, "Timed steps")->capture_default_str();
  sub->add_option("--warmup", f->warmup, "Untimed warm-up steps")->capture_default_str();
  sub->add_option("--device", f->device, "cpu, cuda or cuda:N")->capture_default_str();
  sub->add_flag("--routed", f->routed, "Route every other MLP (16 pathways, top-4) with GLBL");
  sub->add_option("--threads", f->threads, "CPU threads (0: every CPU available)");
  sub->add_flag("--json", f->json, "Print one JSON object as the last line");
  sub->add_option("--precision", f->precision, "fp32, bf16 or auto (bf16 on CUDA)")
      ->capture_default_str();
  sub->add_option("--graph", f->graph, "CUDA graphs: on, off or auto")->capture_default_str();
  sub->add_option("--mlp", f->mlp, "Routed MLP path: mask, gather or auto")->capture_default_str();
  sub->add_option("--attention", f->attention, "CPU attention: fused, explicit or auto (fused)")
      ->capture_default_str();
  sub->add_option("--chunk", f->chunk, "Fused LM-loss chunk in tokens (0: automatic)");
  sub->add_option("--seed", f->seed, "Seed of the random data and init");
  sub->add_flag("--profile", f->profile, "Print the mean time of each phase (CPU)");
  SetAction(sub, [f]() { return RunBenchTrain(*f); });
});

}  // namespace
}  // namespace monoroute::cli
