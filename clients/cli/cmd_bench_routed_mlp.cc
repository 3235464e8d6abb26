// `monoroute bench routed-mlp`: the routed MLP alone (forward + backward on random routing), the
// mask path against the gather path, alternated in one process, beside the path
// RoutedCompute::kAuto picks and the cost model's estimates (the measurement the model's
// constants were fitted to; docs/model.md). Threads as training sets them (ConfigureCpuThreads).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/cli/command.h"
#include "common/model/cpu_threads.h"
#include "common/model/routed_mlp.h"
#include "common/model/routed_mlp_cost.h"

namespace monoroute::cli {
namespace {

// Flags of `bench routed-mlp`.
struct RoutedMlpBenchFlags {
  int64_t hidden = 512;   // residual width (intermediate 4x)
  int64_t tokens = 2048;  // tokens per call
  int64_t pathways = 64;  // P
  int64_t top_k = 4;      // k
  int64_t reps = 10;      // timed calls per path (after one untimed call each)
  int threads = 0;        // CPU threads (0: every CPU available)
};

// Mean milliseconds of one forward + backward of `mlp` on the given routing.
double TimePath(model::RoutedMLP& mlp, model::RoutedCompute path, const torch::Tensor& x,
                const torch::Tensor& idx, const torch::Tensor& w, int64_t reps) {
  mlp->set_compute(path);
  double total = 0;
  for (int64_t r = 0; r <= reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    torch::Tensor y = mlp->ApplyRouting(x, idx, w);
    y.sum().backward();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) total += ms;  // the first call warms the allocator and BLAS
  }
  return total / static_cast<double>(reps);
}

absl::Status Run(const RoutedMlpBenchFlags& f) {
  if (f.hidden < 8 || f.hidden > 8192) return UsageError("--hidden must be in [8, 8192]");
  if (f.tokens < 1 || f.tokens > (1 << 20)) return UsageError("--tokens must be in [1, 2^20]");
  if (f.reps < 1 || f.reps > 10000) return UsageError("--reps must be in [1, 10000]");
  if (f.threads < 0 || f.threads > 1024) return UsageError("--threads must be in [0, 1024]");
  model::RoutedMLPOptions o;
  o.mlp.hidden_size = f.hidden;
  o.mlp.intermediate_size = 4 * f.hidden;
  o.router.hidden_size = f.hidden;
  o.router.num_pathways = f.pathways;
  o.router.top_k = f.top_k;
  if (f.pathways < 1 || f.pathways > 256 || o.mlp.intermediate_size % f.pathways != 0) {
    return UsageError(
        absl::StrCat("--pathways must be in [1, 256] and divide ", o.mlp.intermediate_size));
  }
  if (f.top_k < 1 || f.top_k > f.pathways) return UsageError("--top-k must be in [1, --pathways]");
  model::ConfigureCpuThreads(f.threads);  // ATen pool, BLAS single-threaded: as in training
  torch::manual_seed(0);
  model::RoutedMLP mlp(o);
  torch::Tensor x = torch::randn({f.tokens, f.hidden}, torch::requires_grad());
  torch::Tensor idx = std::get<1>(torch::rand({f.tokens, f.pathways}).topk(f.top_k, 1));
  torch::Tensor w = torch::softmax(torch::randn({f.tokens, f.top_k}), 1);
  double mask = 0, gather = 0;
  for (int round = 0; round < 2; ++round) {  // alternated: drift hits both paths alike
    mask += TimePath(mlp, model::RoutedCompute::kMask, x, idx, w, f.reps) / 2;
    gather += TimePath(mlp, model::RoutedCompute::kGather, x, idx, w, f.reps) / 2;
  }
  model::RoutedMlpShape shape;
  shape.tokens = f.tokens;
  shape.hidden = f.hidden;
  shape.intermediate = o.mlp.intermediate_size;
  shape.pathways = f.pathways;
  shape.top_k = f.top_k;
  const model::RoutedMlpCost est = model::EstimateRoutedMlpCost(shape);
  const char* pick = model::RoutedComputeName(model::ChooseRoutedCompute(shape, /*on_cpu=*/true));
  const char* faster = gather < mask ? "gather" : "mask";
  if (JsonOutput()) {
    PrintJson({{"hidden", f.hidden},
               {"tokens", f.tokens},
               {"pathways", f.pathways},
               {"top_k", f.top_k},
               {"threads", at::get_num_threads()},
               {"mask_ms", mask},
               {"gather_ms", gather},
               {"faster", faster},
               {"auto", pick},
               {"model_mask_ms", est.mask_ms},
               {"model_gather_ms", est.gather_ms}});
  } else {
    std::printf(
        "routed MLP H=%ld I=%ld P=%ld k=%ld, %ld tokens, cpu x%d: mask %.2f ms, gather %.2f ms "
        "(gather/mask %.2f, faster: %s); auto picks %s (model: mask %.2f ms, gather %.2f ms, "
        "gather/mask %.2f)\n",
        static_cast<long>(f.hidden), static_cast<long>(4 * f.hidden), static_cast<long>(f.pathways),
        static_cast<long>(f.top_k), static_cast<long>(f.tokens), at::get_num_threads(), mask,
        gather, gather / mask, faster, pick, est.mask_ms, est.gather_ms,
        est.gather_ms / est.mask_ms);
  }
  return absl::OkStatus();
}

void AddFlags(CLI::App* sub, RoutedMlpBenchFlags* f) {
  sub->add_option("--hidden", f->hidden, "Residual width (intermediate 4x)")->capture_default_str();
  sub->add_option("--tokens", f->tokens, "Tokens per call")->capture_default_str();
  sub->add_option("--pathways", f->pathways, "Pathways P (1-256)")->capture_default_str();
  sub->add_option("--top-k", f->top_k, "Pathways per token k")->capture_default_str();
  sub->add_option("--reps", f->reps, "Timed calls per path and round")->capture_default_str();
  sub->add_option("--threads", f->threads, "CPU threads (0: every CPU available)");
}

MONOROUTE_REGISTER_COMMAND(
    bench_routed_mlp,
    Command<RoutedMlpBenchFlags>("bench routed-mlp",
                                 "Routed MLP forward + backward: mask path vs gather path (CPU)",
                                 AddFlags, Run));

}  // namespace
}  // namespace monoroute::cli
