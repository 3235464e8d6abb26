// A rank of the distributed tests (engine_distributed_test): runs RunTrainingJob on the job spec
// file argv[1] with the torchrun environment it was started with, and writes every StepReport
// (rank 0) as one JSON line to argv[2]. Optional argv[3] = "kill:R:S": rank R SIGKILLs itself
// when polled for step S + 1 (after S steps). SIGTERM asks the job to stop (checkpoint and exit).
// Exit 0 on success, 1 with the error on stderr.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/engine/job_spec.h"
#include "common/engine/train.h"
#include "nlohmann/json.hpp"

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

// Writes step reports; kills this process at the configured step.
class Observer : public monoroute::engine::TrainingObserver {
 public:
  Observer(const std::string& report_path, int kill_rank, int kill_after)
      : out_(report_path, std::ios::app), kill_rank_(kill_rank), kill_after_(kill_after) {}
  absl::Status OnRunShape(const monoroute::engine::RunShape& s) override {
    rank_ = s.rank;
    return absl::OkStatus();
  }
  void OnStep(const monoroute::engine::StepReport& r) override {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& b : r.balance) layers.push_back({{"layer", b.layer}, {"load", b.load}});
    out_ << nlohmann::json{{"step", r.step},
                           {"lm_loss", r.lm_loss},
                           {"world_size", r.world_size},
                           {"layers", layers}}
                .dump()
         << "\n"
         << std::flush;
  }
  bool ShouldStop() override {
    if (rank_ == kill_rank_ && polls_++ == kill_after_) ::kill(::getpid(), SIGKILL);
    return g_stop.load();
  }

 private:
  std::ofstream out_;
  int kill_rank_, kill_after_;
  int rank_ = 0;
  int polls_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: engine_dist_worker SPEC.yaml REPORT.jsonl [kill:RANK:STEPS]\n";
    return 2;
  }
  int kill_rank = -1, kill_after = -1;
  if (argc > 3) {
    std::vector<std::string> parts = absl::StrSplit(argv[3], ':');
    if (parts.size() != 3 || parts[0] != "kill" || !absl::SimpleAtoi(parts[1], &kill_rank) ||
        !absl::SimpleAtoi(parts[2], &kill_after)) {
      std::cerr << "bad kill argument: " << argv[3] << "\n";
      return 2;
    }
  }
  ::signal(SIGTERM, OnSignal);
  auto spec = monoroute::engine::LoadJobSpecFile(argv[1]);
  if (!spec.ok()) {
    std::cerr << spec.status() << "\n";
    return 1;
  }
  Observer obs(argv[2], kill_rank, kill_after);
  auto r = monoroute::engine::RunTrainingJob(*spec, &obs);
  if (!r.ok()) {
    std::cerr << "error: " << r.status() << "\n";
    return 1;
  }
  std::cout << "done: step " << r->final_step << " val_loss " << r->final_val_loss << "\n";
  return 0;
}
