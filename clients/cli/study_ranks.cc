// RunStudyJob: children for ranks 1..N-1 (common/base/subprocess.h), rank 0 in-process.
#include "clients/cli/study_ranks.h"

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/base/subprocess.h"
#include "common/engine/rank_launcher.h"

namespace monoroute::cli {
namespace {

// Sets the rank environment of this process while alive; restores (unsets) it afterwards.
class RankEnvironment {
 public:
  explicit RankEnvironment(const std::vector<std::pair<std::string, std::string>>& vars) {
    for (const auto& [k, v] : vars) {
      setenv(k.c_str(), v.c_str(), 1);
      names_.push_back(k);
    }
  }
  ~RankEnvironment() {
    for (const std::string& k : names_) unsetenv(k.c_str());
  }

 private:
  std::vector<std::string> names_;
};

}  // namespace

absl::StatusOr<engine::TrainResult> RunStudyJob(const engine::JobSpec& spec,
                                                const std::string& spec_path,
                                                const StudyRanksOptions& o,
                                                engine::TrainingObserver* observer) {
  if (o.nproc <= 1) return engine::RunTrainingJob(spec, observer);
  if (std::getenv("WORLD_SIZE") != nullptr) {
    return absl::FailedPreconditionError(
        "--nproc-per-node: this process already is a rank (WORLD_SIZE is set)");
  }
  ASSIGN_OR_RETURN(int port, engine::PickFreePort("127.0.0.1"));
  const std::string world = std::to_string(o.nproc);
  std::vector<std::pair<std::string, std::string>> common = {{"MASTER_ADDR", "127.0.0.1"},
                                                             {"MASTER_PORT", std::to_string(port)},
                                                             {"WORLD_SIZE", world},
                                                             {"LOCAL_WORLD_SIZE", world}};
  std::vector<std::unique_ptr<Subprocess>> children;
  std::vector<std::string> logs;
  for (int r = 1; r < o.nproc; ++r) {
    SubprocessOptions so;
    so.argv = o.rank_command;
    so.argv.insert(so.argv.end(), {"--config", spec_path});
    for (const auto& [k, v] : common) so.env.push_back(k + "=" + v);
    so.env.push_back(absl::StrCat("RANK=", r));
    so.env.push_back(absl::StrCat("LOCAL_RANK=", r));
    so.log_path = (std::filesystem::path(o.log_dir) / absl::StrCat("rank", r, ".log")).string();
    logs.push_back(so.log_path);
    absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(so);
    if (!child.ok()) {
      for (auto& c : children) c->Terminate(std::chrono::seconds(10));
      return child.status();
    }
    children.push_back(*std::move(child));
  }
  absl::StatusOr<engine::TrainResult> result;
  {
    std::vector<std::pair<std::string, std::string>> mine = common;
    mine.insert(mine.end(), {{"RANK", "0"}, {"LOCAL_RANK", "0"}});
    RankEnvironment env(mine);
    result = engine::RunTrainingJob(spec, observer);
  }
  for (size_t i = 0; i < children.size(); ++i) {
    const ExitInfo e =
        result.ok() ? children[i]->Wait() : children[i]->Terminate(std::chrono::seconds(10));
    if (result.ok() && !e.ok()) {
      return absl::AbortedError(
          absl::StrCat("rank ", i + 1, " ", e.Describe(), ": ", TailLines(logs[i])));
    }
  }
  if (!result.ok() && !logs.empty()) {
    return absl::Status(result.status().code(),
                        absl::StrCat(result.status().message(), " (rank 1's log ", logs[0], ": ",
                                     TailLines(logs[0]), ")"));
  }
  return result;
}

}  // namespace monoroute::cli
