// `monoroute train --config job.yaml [--set key=value]...`: runs a training job in-process with a
// progress bar (plain lines when stdout is not a terminal); checkpoints and metrics.jsonl go to
// the job's output_dir. Ctrl-C / SIGTERM stop after a checkpoint of the current step; running the
// same command again resumes.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "clients/cli/command.h"
#include "common/engine/job_spec.h"
#include "common/engine/progress_bar.h"
#include "common/engine/train.h"

namespace monoroute::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

// Prints progress, evaluations and checkpoints; stops on SIGINT / SIGTERM.
class ConsoleObserver : public engine::TrainingObserver {
 public:
  ConsoleObserver(bool tty, bool quiet) : bar_(&std::cout, tty), quiet_(quiet) {}
  void OnStart(int64_t start, int64_t total) override {
    if (start > 0) bar_.Message(absl::StrFormat("resuming at step %d of %d", start, total));
  }
  void OnStep(const engine::StepReport& r) override {
    if (!quiet_) bar_.Update(r);
  }
  void OnEval(const engine::EvalReport& r) override {
    bar_.Message(absl::StrFormat("eval step %d: val_loss %.4f perplexity %.2f", r.step, r.val_loss,
                                 r.perplexity));
  }
  void OnCheckpoint(int64_t step, const std::string& dir, double seconds) override {
    if (!quiet_)
      bar_.Message(absl::StrFormat("checkpoint step %d: %s (%.2fs)", step, dir, seconds));
  }
  bool ShouldStop() override { return g_stop.load(); }
  void Finish() { bar_.Finish(); }

 private:
  engine::ProgressBar bar_;
  bool quiet_;
};

struct TrainOpts {
  std::string config;
  std::vector<std::string> sets;
  bool quiet = false;
  bool print_spec = false;
};

MONOROUTE_REGISTER_COMMAND(train, [](CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "train", "Run a training job (pretrain or finetune) in-process; resumes from output_dir");
  auto o = std::make_shared<TrainOpts>();
  sub->add_option("--config", o->config, "Job spec YAML")->required();
  sub->add_option("--set", o->sets, "Override a spec key: key.path=value (repeatable)");
  sub->add_flag("--quiet", o->quiet, "Only evaluations and the result");
  sub->add_flag("--print-spec", o->print_spec, "Print the resolved job spec and exit");
  SetAction(sub, [o]() -> absl::Status {
    absl::StatusOr<engine::JobSpec> spec = engine::LoadJobSpecFile(o->config, o->sets);
    if (!spec.ok()) return UsageError(std::string(spec.status().message()));
    if (o->print_spec) {
      std::cout << engine::JobSpecToYaml(*spec);
      return absl::OkStatus();
    }
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
    ConsoleObserver obs(::isatty(STDOUT_FILENO) != 0, o->quiet);
    absl::StatusOr<engine::TrainResult> r = engine::RunTrainingJob(*spec, &obs);
    obs.Finish();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (!r.ok()) return r.status();
    if (r->stopped_early) {
      std::cout << absl::StrFormat("stopped at step %d; checkpoint %s (run again to resume)\n",
                                   r->final_step, r->checkpoint_dir);
    } else {
      std::cout << absl::StrFormat("done: step %d, val_loss %.4f, checkpoint %s\n", r->final_step,
                                   r->final_val_loss, r->checkpoint_dir);
    }
    return absl::OkStatus();
  });
});

}  // namespace
}  // namespace monoroute::cli
