// `monoroute train --config job.yaml [--set key=value]...`: runs a training job in-process with a
// progress bar (plain lines when stdout is not a terminal); checkpoints and metrics.jsonl go to
// the job's output_dir. Ctrl-C / SIGTERM stop after a checkpoint of the current step; running the
// same command again resumes. Before anything runs, `threads` / `data.tokenize_threads` are bounded
// by this machine's CPUs and the estimated memory (job_resources.h) by the machine's memory (or
// the spec's memory_limit_mb, which also becomes this process's RLIMIT_DATA); --print-spec prints
// the estimate after the resolved spec. `--nproc-per-node N` (or the spec's
// distributed.nproc_per_node) runs N local data-parallel ranks (train_ranks.h); with the torchrun
// environment set (WORLD_SIZE, RANK, ...) this process is one rank of a job started elsewhere.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/command.h"
#include "clients/cli/train_ranks.h"
#include "clients/cli/train_recording.h"
#include "common/base/status_macros.h"
#include "common/engine/job_resources.h"
#include "common/engine/job_spec.h"
#include "common/engine/progress_bar.h"
#include "common/engine/train.h"
#include "nlohmann/json.hpp"

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

// The estimate of `spec` on this machine, or why there is none (e.g. model_dir/config.json
// missing: the run then reports that error itself).
absl::StatusOr<engine::JobResourceEstimate> Estimate(const engine::JobSpec& spec) {
  absl::StatusOr<engine::JobModelShape> shape = engine::ResolveJobModelShape(spec);
  if (!shape.ok()) return shape.status();
  if (absl::Status s = engine::ValidateJobSpecForModel(spec, *shape); !s.ok()) return s;
  engine::JobResourceOptions ro;
  ro.threads = engine::ResolveJobThreads(spec.threads, 0);
  ro.tokenize_threads = engine::ResolveJobThreads(spec.data.tokenize_threads, 0);
  ro.data_bytes = engine::JobDataBytes(spec);
  return engine::EstimateJobResources(spec, *shape, ro);
}

// Bounds of this machine: threads by its CPUs, the estimate by its memory (or memory_limit_mb).
absl::Status CheckMachineBounds(const engine::JobSpec& spec,
                                const absl::StatusOr<engine::JobResourceEstimate>& estimate) {
  const int cpus = engine::ResolveJobThreads(0, 0);
  if (spec.threads > cpus) {
    return absl::InvalidArgumentError(
        absl::StrFormat("threads: %d exceeds this machine's %d CPUs", spec.threads, cpus));
  }
  if (spec.data.tokenize_threads > cpus) {
    return absl::InvalidArgumentError(
        absl::StrFormat("data.tokenize_threads: %d exceeds this machine's %d CPUs",
                        spec.data.tokenize_threads, cpus));
  }
  if (!estimate.ok()) {
    // Only a spec-vs-model mismatch is final here; missing files are reported by the run.
    return absl::IsInvalidArgument(estimate.status()) ? estimate.status() : absl::OkStatus();
  }
  if (spec.memory_limit_mb > 0) {
    return engine::CheckJobMemory(*estimate, spec.memory_limit_mb << 20,
                                  absl::StrCat("memory_limit_mb ", spec.memory_limit_mb));
  }
  return engine::CheckJobMemory(*estimate, engine::MachineMemoryBytes(), "this machine's memory");
}

struct TrainOpts {
  std::string config;
  std::vector<std::string> sets;
  bool quiet = false;
  bool print_spec = false;
  int nproc_per_node = 0;
  TrainRecordingOptions recording;
};

// --print-spec: the resolved spec and the memory estimate (or why there is none).
void PrintSpec(const engine::JobSpec& spec,
               const absl::StatusOr<engine::JobResourceEstimate>& estimate) {
  if (JsonOutput()) {
    PrintJson({{"spec_yaml", engine::JobSpecToYaml(spec)},
               {"estimated_peak_memory",
                estimate.ok() ? nlohmann::json(estimate->Summary()) : nlohmann::json(nullptr)},
               {"estimate_error", estimate.ok()
                                      ? nlohmann::json(nullptr)
                                      : nlohmann::json(std::string(estimate.status().message()))}});
    return;
  }
  std::cout << engine::JobSpecToYaml(spec);
  if (estimate.ok()) {
    std::cout << "# estimated peak memory: " << estimate->Summary() << "\n";
  } else {
    std::cout << "# estimated peak memory: unavailable (" << estimate.status().message() << ")\n";
  }
}

// Runs the job as `nproc` local ranks of this command (each rank prints its own results).
absl::Status LaunchRanks(const TrainOpts& o, const engine::JobSpec& spec, int nproc) {
  if (spec.optim.batch_size % nproc != 0) {
    return UsageError(
        absl::StrFormat("optim.batch_size: %d (the global batch) is not divisible by the %d ranks "
                        "(--nproc-per-node)",
                        spec.optim.batch_size, nproc));
  }
  std::vector<std::string> args = {"--config", o.config};
  for (const std::string& s : o.sets) args.insert(args.end(), {"--set", s});
  if (o.quiet) args.push_back("--quiet");
  for (std::string& a : TrainRecordingArgs(o.recording)) args.push_back(std::move(a));
  RETURN_IF_ERROR(RunTrainRanks(args, nproc));
  // The ranks printed their own results (text, prefixed by rank): the launcher's is where.
  if (JsonOutput()) PrintJson({{"ranks", nproc}, {"output_dir", spec.output_dir}});
  return absl::OkStatus();
}

// Prints the result of a finished (or stopped) in-process run.
void PrintTrainResult(const engine::JobSpec& spec, const engine::TrainResult& r,
                      const TrainRecorder* recorder) {
  if (JsonOutput()) {
    std::cout.flush();
    nlohmann::json j = {{"final_step", r.final_step},
                        {"stopped_early", r.stopped_early},
                        {"checkpoint_dir", r.checkpoint_dir},
                        {"output_dir", spec.output_dir}};
    // NaN (stopped early) is not JSON: null.
    j["val_loss"] = std::isfinite(r.final_val_loss) ? nlohmann::json(r.final_val_loss)
                                                    : nlohmann::json(nullptr);
    if (recorder != nullptr) j["recorder"] = recorder->Summary();
    PrintJson(j);
    return;
  }
  if (r.stopped_early) {
    std::cout << absl::StrFormat("stopped at step %d; checkpoint %s (run again to resume)\n",
                                 r.final_step, r.checkpoint_dir);
  } else {
    std::cout << absl::StrFormat("done: step %d, val_loss %.4f, checkpoint %s\n", r.final_step,
                                 r.final_val_loss, r.checkpoint_dir);
  }
}

// Runs the job in this process (a single rank, or one rank of a launcher), optionally uploading
// its routing events (--recorder).
absl::Status RunInProcess(const TrainOpts& o, const engine::JobSpec& spec) {
  if (!o.recording.address.empty() && &MakeTrainRecorder == nullptr) {
    return UsageError("--recorder: this build has no services (MONOROUTE_WITH_SERVICES=OFF)");
  }
  if (spec.memory_limit_mb > 0 && spec.device == "cpu") {
    rlimit r{};
    r.rlim_cur = r.rlim_max = static_cast<rlim_t>(spec.memory_limit_mb) << 20;
    if (::setrlimit(RLIMIT_DATA, &r) != 0) {
      return absl::InternalError("memory_limit_mb: setrlimit(RLIMIT_DATA) failed");
    }
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  ConsoleObserver obs(::isatty(STDOUT_FILENO) != 0, o.quiet);
  std::unique_ptr<TrainRecorder> recorder;  // --recorder: uploads the routing events
  if (!o.recording.address.empty()) {
    absl::StatusOr<std::unique_ptr<TrainRecorder>> made =
        MakeTrainRecorder(o.recording, spec, &obs);
    if (!made.ok()) return UsageError(std::string(made.status().message()));
    recorder = std::move(*made);
  }
  absl::StatusOr<engine::TrainResult> r = engine::RunTrainingJob(
      spec, recorder != nullptr ? static_cast<engine::TrainingObserver*>(recorder.get()) : &obs);
  obs.Finish();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (recorder != nullptr) {
    if (!recorder->Error().ok()) return recorder->Error();
    std::cout << recorder->Summary() << "\n";
  }
  if (!r.ok()) return r.status();
  PrintTrainResult(spec, *r, recorder.get());
  return absl::OkStatus();
}

absl::Status RunTrain(const TrainOpts& o) {
  absl::StatusOr<engine::JobSpec> spec = engine::LoadJobSpecFile(o.config, o.sets);
  if (!spec.ok()) return UsageError(std::string(spec.status().message()));
  absl::StatusOr<engine::JobResourceEstimate> estimate = Estimate(*spec);
  if (o.print_spec) {
    PrintSpec(*spec, estimate);
    return absl::OkStatus();
  }
  if (absl::Status s = CheckMachineBounds(*spec, estimate); !s.ok()) {
    return absl::IsInvalidArgument(s) ? UsageError(std::string(s.message())) : s;
  }
  // A launcher of N local ranks, unless a launcher already made this process a rank.
  const int nproc = o.nproc_per_node > 0 ? o.nproc_per_node : spec->distributed.nproc_per_node;
  if (nproc > 1 && std::getenv("WORLD_SIZE") == nullptr) return LaunchRanks(o, *spec, nproc);
  return RunInProcess(o, *spec);
}

void AddFlags(CLI::App* sub, TrainOpts* o) {
  sub->add_option("--config", o->config, "Job spec YAML")->required();
  sub->add_option("--set", o->sets, "Override a spec key: key.path=value (repeatable)");
  sub->add_flag("--quiet", o->quiet, "Only evaluations and the result");
  sub->add_flag("--print-spec", o->print_spec, "Print the resolved job spec and exit");
  sub->add_option("--nproc-per-node", o->nproc_per_node,
                  "Run the job as N local data-parallel ranks (default: the spec's "
                  "distributed.nproc_per_node); with WORLD_SIZE/RANK set, this process is a rank");
  AddTrainRecordingFlags(sub, &o->recording);
}

MONOROUTE_REGISTER_COMMAND(
    train,
    Command<TrainOpts>(
        "train", "Run a training job (pretrain or finetune) in-process; resumes from output_dir",
        AddFlags, RunTrain));

}  // namespace
}  // namespace monoroute::cli
