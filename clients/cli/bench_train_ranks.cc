// RunBenchTrainRanks: baseline and data-parallel runs of `monoroute bench train` as child
// processes, their JSON lines compared; the rank-side hooks.
#include "clients/cli/bench_train_ranks.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/command.h"
#include "common/engine/rank_launcher.h"
#include "nlohmann/json.hpp"

namespace monoroute::cli {
namespace {

// This process's arguments after the program name, without the flags the launcher sets itself.
std::vector<std::string> OwnArgsWithout(const std::vector<std::string>& drop_with_value,
                                        const std::vector<std::string>& drop_flags) {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::stringstream ss(all);
  std::string a;
  while (std::getline(ss, a, '\0')) args.push_back(a);
  std::vector<std::string> out;
  for (size_t i = 1; i < args.size(); ++i) {
    bool dropped = false;
    for (const std::string& d : drop_with_value) {
      if (args[i] == d) {
        ++i;  // and its value
        dropped = true;
      } else if (args[i].rfind(d + "=", 0) == 0) {
        dropped = true;
      }
    }
    for (const std::string& d : drop_flags) dropped |= args[i] == d;
    if (!dropped) out.push_back(args[i]);
  }
  return out;
}

// Runs one configuration; returns rank 0's JSON (the last line starting with '{').
absl::StatusOr<nlohmann::json> RunOne(const std::vector<std::string>& args, int nproc,
                                      int threads) {
  engine::LocalRanksOptions o;
  o.argv = {"/proc/self/exe"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.argv.insert(o.argv.end(), {"--threads", std::to_string(threads), "--json"});
  o.nproc = nproc;
  std::ostringstream log;
  o.out = &log;
  if (nproc == 1) o.extra_env = {"WORLD_SIZE=1"};  // one rank: no process group
  absl::StatusOr<engine::LocalRanksResult> r = engine::RunLocalRanks(o);
  if (!r.ok()) return r.status();
  if (!r->ok) {
    return absl::AbortedError(absl::StrCat("bench train: ", r->failure, "\n", log.str()));
  }
  std::istringstream lines(log.str());
  std::string line, json;
  while (std::getline(lines, line)) {
    const std::string prefix = "[rank 0] ";
    if (line.rfind(prefix, 0) == 0) {
      std::string rest = line.substr(prefix.size());
      if (!rest.empty() && rest[0] == '{') json = rest;
      if (!rest.empty() && rest[0] != '{') std::cout << "  " << rest << "\n";
    }
  }
  if (json.empty()) return absl::InternalError("bench train: no JSON line from rank 0");
  return nlohmann::json::parse(json);
}

}  // namespace

absl::Status RunBenchTrainRanks(int nproc, int threads_per_rank, bool json) {
  const int t = threads_per_rank > 0 ? threads_per_rank : 1;
  std::vector<std::string> args = OwnArgsWithout({"--nproc-per-node", "--threads"}, {"--json"});
  std::cout << absl::StrFormat("baseline: 1 rank x %d threads\n", nproc * t);
  absl::StatusOr<nlohmann::json> base = RunOne(args, 1, nproc * t);
  if (!base.ok()) return base.status();
  std::cout << absl::StrFormat("data parallel: %d ranks x %d thread(s) (Gloo)\n", nproc, t);
  absl::StatusOr<nlohmann::json> dp = RunOne(args, nproc, t);
  if (!dp.ok()) return dp.status();
  const double b = (*base)["tokens_per_s"].get<double>(), d = (*dp)["tokens_per_s"].get<double>();
  std::printf(
      "bench train --nproc-per-node %d: 1 rank x %d threads %.0f tokens/s | %d ranks x %d "
      "thread(s) %.0f tokens/s | ratio %.2f (global batch %ld)\n",
      nproc, nproc * t, b, nproc, t, d, d / b, (*dp)["batch"].get<long>());
  if (json) {
    nlohmann::json j = {{"baseline", *base},
                        {"data_parallel", *dp},
                        {"ratio", d / b},
                        {"nproc_per_node", nproc},
                        {"threads_per_rank", t}};
    PrintJson(j);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<engine::DistributedContext>> BenchRanksFromEnvironment() {
  absl::StatusOr<std::optional<engine::DistributedEnv>> env =
      engine::DistributedEnvFromEnvironment();
  if (!env.ok()) return env.status();
  if (!env->has_value() || (*env)->world_size == 1) {
    return std::unique_ptr<engine::DistributedContext>();
  }
  engine::DistributedOptions o;
  o.timeout = std::chrono::seconds(300);
  return engine::DistributedContext::Create(**env, o);
}

void SumOverRanks(engine::DistributedContext& dp, std::vector<torch::Tensor>& counts) {
  absl::Status s = dp.AllReduceSum(counts, "GLBL counts all-reduce");
  if (!s.ok()) throw std::runtime_error(s.ToString());
}

void AverageOverRanks(engine::DistributedContext& dp, const std::vector<torch::Tensor>& params) {
  absl::Status s = dp.AverageGradients(params);
  if (!s.ok()) throw std::runtime_error(s.ToString());
}

}  // namespace monoroute::cli
