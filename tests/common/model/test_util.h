// Helpers shared by the model tests: fixture location, tensor comparison, a small config (temp
// dirs and commands: tests/testing).
#ifndef MONOROUTE_TESTS_COMMON_MODEL_TEST_UTIL_H_
#define MONOROUTE_TESTS_COMMON_MODEL_TEST_UTIL_H_

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/model/checkpoint.h"
#include "common/model/cpu_isa.h"
#include "common/model/gpt_neo_config.h"
#include "tests/testing/command.h"
#include "tests/testing/temp_files.h"

namespace monoroute::model::testing {

// tests/fixtures/<name> (committed copy) or ../shared/fixtures/<name>; "" if neither exists.
inline std::string FixtureDir(const std::string& name) {
  for (const std::string& dir :
       {std::string(MONOROUTE_SOURCE_DIR) + "/tests/fixtures/" + name,
        std::string(MONOROUTE_SOURCE_DIR) + "/../shared/fixtures/" + name}) {
    if (std::filesystem::exists(dir)) return dir;
  }
  return "";
}

// Largest absolute elementwise difference (as double).
inline double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.detach().to(torch::kCPU, torch::kDouble) - b.detach().to(torch::kCPU, torch::kDouble))
      .abs()
      .max()
      .item<double>();
}

// Of `names`, those that are not parameters of `model` (a GPTNeo, CausalLM...), in order: empty
// when every name is a parameter (its Hugging Face key).
template <typename Model>
std::vector<std::string> MissingParameters(const Model& model,
                                           const std::vector<std::string>& names) {
  const auto params = model->named_parameters();
  std::vector<std::string> missing;
  for (const std::string& name : names) {
    if (!params.contains(name)) missing.push_back(name);
  }
  return missing;
}

// The one temp-dir and command helpers (tests/testing).
using ::monoroute::testing::CommandResult;
using ::monoroute::testing::RunCommand;
using ::monoroute::testing::TempDir;

// TinyStories-1M's layer shapes with 4 layers (global, local, ...), vocab 128, 32 positions and a
// window of 4: routed layers 0 and 2 with the default routing.
inline GPTNeoConfig SmallConfig() {
  GPTNeoConfig c = GPTNeoConfig::TinyStories1M();
  c.vocab_size = 128;
  c.num_layers = 4;
  c.attention_layers = {"global", "local", "global", "local"};
  c.max_position_embeddings = 32;
  c.window_size = 4;
  return c;
}

// The model in `dir` routed as `rc` says with every pathway selected (top_k = num_pathways) and
// each router's last layer zeroed, so that every pathway weighs 1/P: the dense model's function.
inline absl::StatusOr<CausalLM> LoadEqualWeightRouted(const std::string& dir, RoutingConfig rc) {
  rc.top_k = rc.num_pathways;
  LoadOptions lo;
  lo.routing = rc;
  absl::StatusOr<CausalLM> m = LoadModel(dir, lo);
  if (!m.ok()) return m;
  torch::NoGradGuard ng;
  for (int64_t l : (*m)->routed_layers()) {
    (*m)->router(l)->fc2->weight.zero_();
    (*m)->router(l)->fc2->bias.zero_();
  }
  return m;
}

// The CPU kernel paths this machine can run, best first (a path the CPU lacks is not listed:
// on an AVX2-only machine the AVX-512 kernels cannot be executed).
inline std::vector<CpuIsa> RunnableCpuIsas() {
  std::vector<CpuIsa> out;
  for (CpuIsa isa : {CpuIsa::kAvx512, CpuIsa::kAvx2, CpuIsa::kGeneric}) {
    if (isa <= SupportedCpuIsa()) out.push_back(isa);
  }
  return out;
}

// Forces a CPU kernel path for one scope and restores the previous one on exit. Not thread-safe
// with other code that sets the path.
class ScopedCpuIsa {
 public:
  explicit ScopedCpuIsa(CpuIsa isa) : previous_(ActiveCpuIsa()) {
    ok_ = SetCpuIsa(CpuIsaName(isa)).ok();
  }
  ~ScopedCpuIsa() { (void)SetCpuIsa(CpuIsaName(previous_)); }
  ScopedCpuIsa(const ScopedCpuIsa&) = delete;
  ScopedCpuIsa& operator=(const ScopedCpuIsa&) = delete;
  // False when the path could not be set (the CPU lacks it).
  bool ok() const { return ok_; }

 private:
  CpuIsa previous_;
  bool ok_ = false;
};

}  // namespace monoroute::model::testing

#endif  // MONOROUTE_TESTS_COMMON_MODEL_TEST_UTIL_H_
