// Shared helpers of the distributed tests: the 1-rank reference run (once per test binary), the
// spec of a small GLBL job, running ranks of the test worker (engine_dist_worker) through
// engine::RunLocalRanks, running a command, comparing models, scoped environment variables.
#ifndef MONOROUTE_TESTS_COMMON_ENGINE_DISTRIBUTED_TEST_UTIL_H_
#define MONOROUTE_TESTS_COMMON_ENGINE_DISTRIBUTED_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/engine/checkpoint_dir.h"
#include "common/engine/job_spec.h"
#include "common/engine/rank_launcher.h"
#include "common/engine/train.h"
#include "common/model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "tests/common/engine/test_util.h"
#include "tests/testing/command.h"

namespace monoroute::engine {

// Sets (value) or unsets (nullptr) environment variables; restores them on destruction.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::vector<std::pair<const char*, const char*>>& vars) {
    for (const auto& [name, value] : vars) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value != nullptr) {
        ::setenv(name, value, 1);
      } else {
        ::unsetenv(name);
      }
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, old] : saved_) {
      if (old.has_value()) {
        ::setenv(name.c_str(), old->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Runs argv (no shell quoting: paths without spaces), stdout and stderr into *output; returns the
// exit code (-1 when killed).
inline int RunCommand(const std::vector<std::string>& argv, std::string* output) {
  std::string cmd;
  for (const std::string& a : argv) cmd += "'" + a + "' ";
  const ::monoroute::testing::CommandResult r = ::monoroute::testing::RunCommand(cmd);
  output->append(r.out);
  return r.code;
}

inline std::vector<nlohmann::json> ReadJsonLines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// The newest checkpoint's model in `output_dir`.
inline model::GPTNeo FinalModel(const std::string& output_dir) {
  auto latest = LatestCheckpoint(output_dir);
  EXPECT_TRUE(latest.has_value()) << output_dir;
  if (!latest.has_value()) return model::GPTNeo(nullptr);
  auto m = model::LoadGPTNeo(latest->second);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : model::GPTNeo(nullptr);
}

// Every parameter of `b` within `tol` (max abs) of `a`'s.
inline void ExpectCloseTo(const model::GPTNeo& a, const model::GPTNeo& b, double tol) {
  ASSERT_FALSE(a.is_empty());
  ASSERT_FALSE(b.is_empty());
  auto pb = b->named_parameters(true);
  int n = 0;
  double worst = 0.0;
  for (const auto& p : a->named_parameters(true)) {
    const torch::Tensor* q = pb.find(p.key());
    ASSERT_NE(q, nullptr) << p.key();
    const double d = (p.value() - *q).abs().max().item<double>();
    EXPECT_LE(d, tol) << p.key();
    worst = std::max(worst, d);
    ++n;
  }
  EXPECT_GT(n, 10);
  std::cout << "largest weight difference: " << worst << "\n";
}

// Records the step reports of an in-process run.
class StepRecorder : public TrainingObserver {
 public:
  void OnStep(const StepReport& r) override { steps.push_back(r); }
  std::vector<StepReport> steps;
};

// The 1-rank run every distributed run is compared with.
struct ReferenceRun {
  std::vector<StepReport> steps;
  model::GPTNeo final_weights{nullptr};
};

// Fixture: a corpus in a temp dir shared by the suite and the 1-rank reference job, run once
// in-process (12 GLBL steps, grad_accum 2, global batch 4).
class DistributedJobTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::WriteText(dir_->Sub("train.txt"), testing::StoryCorpus(120));
    reference_ = new ReferenceRun();
    StepRecorder rec;
    ScopedEnv no_ranks({{"WORLD_SIZE", nullptr}, {"RANK", nullptr}});
    auto r = RunTrainingJob(GlblSpec(dir_->Sub("reference")), &rec);
    ASSERT_TRUE(r.ok()) << r.status();
    reference_->steps = rec.steps;
    reference_->final_weights = FinalModel(dir_->Sub("reference"));
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete dir_;
  }
  static const testing::TempDir& dir() { return *dir_; }
  static const ReferenceRun& Reference() { return *reference_; }

  // A routed GLBL job: 12 steps of 2 micro-batches of a global batch of 4 sequences, a checkpoint
  // every 4 steps, evaluations every 6, 20 s collective timeout.
  static JobSpec GlblSpec(const std::string& output_dir) {
    JobSpec s = testing::TinyJob(dir_->Sub("train.txt"), output_dir);
    s.routing.enabled = true;
    s.routing.balancing.method = model::BalancingMethod::kGlbl;
    s.routing.balancing.alpha = 0.1;
    s.optim.grad_accum = 2;
    s.optim.max_steps = 12;
    s.optim.batch_size = 4;
    s.checkpoint_every = 4;
    s.keep_checkpoints = 5;
    s.eval_every = 6;
    s.distributed.timeout_s = 20;
    return s;
  }

  static std::string WriteSpec(const JobSpec& s, const std::string& name) {
    const std::string path = dir_->Sub(name);
    testing::WriteText(path, JobSpecToYaml(s));
    return path;
  }

  // A job that KillOneRank ran: its output dir and spec file, the launcher's result and the
  // ranks' output.
  struct KilledJob {
    std::string out;
    std::string spec;
    LocalRanksResult result;
    std::string log;
  };

  // Runs the GlblSpec job into dir()/name on 2 ranks, rank `killed` SIGKILLing itself after
  // `steps` steps, into `job`, and checks what any such kill leaves: the job failed naming that
  // rank, the other rank exited with an error, the last checkpoint is step 4's.
  static void KillOneRank(const std::string& name, int killed, int steps, KilledJob* job) {
    job->out = dir_->Sub(name);
    job->spec = WriteSpec(GlblSpec(job->out), name + ".yaml");
    const std::string kill = "kill:" + std::to_string(killed) + ":" + std::to_string(steps);
    std::ostringstream log;
    job->result = RunWorkers(job->spec, dir_->Sub(name + "-1.jsonl"), 2, kill, &log);
    job->log = log.str();
    const LocalRanksResult& r = job->result;
    const int other = 1 - killed;
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.failed_rank, killed);
    ASSERT_EQ(r.exits.size(), 2u);
    EXPECT_EQ(r.exits[other], "exit code 1") << job->log;
    EXPECT_NE(job->log.find("[rank " + std::to_string(other) + "] error:"), std::string::npos)
        << job->log;
    auto latest = LatestCheckpoint(job->out);
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->first, 4);
  }

  // `nproc` ranks of the test worker on `spec`; rank 0 appends its step reports to `report`.
  static LocalRanksResult RunWorkers(const std::string& spec, const std::string& report, int nproc,
                                     const std::string& kill, std::ostream* log) {
    LocalRanksOptions o;
    o.argv = {MONOROUTE_DIST_WORKER, spec, report};
    if (!kill.empty()) o.argv.push_back(kill);
    o.nproc = nproc;
    o.forward_signals = false;
    o.out = log;
    auto r = RunLocalRanks(o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : LocalRanksResult{};
  }

 private:
  static inline testing::TempDir* dir_ = nullptr;
  static inline ReferenceRun* reference_ = nullptr;
};

}  // namespace monoroute::engine

#endif  // MONOROUTE_TESTS_COMMON_ENGINE_DISTRIBUTED_TEST_UTIL_H_
