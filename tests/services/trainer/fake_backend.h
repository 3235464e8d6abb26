// A scriptable JobBackend for the trainer tests: specs are "key=value" lines, runs are simulated.
//   steps=N        steps to run (default 3)
//   path.<field>=P a path field checked against the allowed roots
//   invalid=MSG    Prepare fails with INVALID_ARGUMENT "MSG"
//   fail=MSG       Run fails with INTERNAL "MSG"
//   block=1        Run waits for ShouldStop() (then returns stopped_early)
//   sleep_ms=N     each step takes N ms
//   drop=N         the run reports N routing events dropped
//   warn=MSG       the run reports a warning MSG
//   die=N          the first N runs of the job end as a dead worker (WorkerDiedError) at step 1
//   recorded=N     FinishRecording reports N events held by the recorder (else: none recorded)
//   finish_fail=1  FinishRecording fails with UNAVAILABLE
//   name=N         the spec's own name
// Run writes "step N" lines to LogPath (<output_dir>/worker.log) and a metrics.jsonl line per step.
#ifndef MONOROUTE_TESTS_SERVICES_TRAINER_FAKE_BACKEND_H_
#define MONOROUTE_TESTS_SERVICES_TRAINER_FAKE_BACKEND_H_

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "services/trainer/job_backend.h"

namespace monoroute::trainer::testing {

class FakeBackend : public JobBackend {
 public:
  static std::map<std::string, std::string> ParseKv(const std::string& text) {
    std::map<std::string, std::string> kv;
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      std::pair<std::string, std::string> p = absl::StrSplit(line, absl::MaxSplits('=', 1));
      kv[p.first] = p.second;
    }
    return kv;
  }

  absl::StatusOr<PreparedSpec> Prepare(const std::string& spec_yaml,
                                       const std::vector<std::string>& overrides,
                                       const std::string& default_output_dir,
                                       const std::string& default_device) override {
    std::string text = spec_yaml;
    for (const auto& o : overrides) text += "\n" + o;
    auto kv = ParseKv(text);
    if (kv.count("invalid")) return absl::InvalidArgumentError(kv["invalid"]);
    PreparedSpec p;
    p.spec_yaml = text;
    p.kind = kv.count("kind") ? kv["kind"] : "pretrain";
    p.name = kv.count("name") ? kv["name"] : "";
    p.output_dir = kv.count("output_dir") ? kv["output_dir"] : default_output_dir;
    if (kv.count("output_dir")) p.paths.push_back({"output_dir", kv["output_dir"]});
    p.device = kv.count("device") ? kv["device"] : default_device;
    for (const auto& [k, v] : kv) {
      if (k.rfind("path.", 0) == 0) p.paths.push_back({k.substr(5), v});
    }
    p.records_events = kv.count("events") > 0;
    return p;
  }

  absl::Status CheckFiles(const PreparedSpec& spec) override {
    ++check_files_calls;
    return absl::OkStatus();
  }

  absl::StatusOr<RunOutcome> Run(const JobRecord& job, JobContext* ctx) override {
    auto kv = ParseKv(job.spec_yaml);
    {
      std::lock_guard<std::mutex> l(mu);
      run_order.push_back(job.id);
    }
    int now = ++concurrent;
    int prev = max_concurrent.load();
    while (now > prev && !max_concurrent.compare_exchange_weak(prev, now)) {
    }
    struct Dec {
      std::atomic<int>& c;
      ~Dec() { --c; }
    } dec{concurrent};
    int64_t steps = 3;
    if (kv.count("steps")) (void)absl::SimpleAtoi(kv["steps"], &steps);
    ctx->OnStart(0, steps);
    if (kv.count("block")) {
      while (!ctx->ShouldStop()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ctx->OnCheckpoint(1, job.output_dir + "/ckpt-1", 0.01);
      return RunOutcome{true, 1, 0, ""};
    }
    if (kv.count("fail")) return absl::InternalError(kv["fail"]);
    int dies = 0;
    if (kv.count("die")) (void)absl::SimpleAtoi(kv["die"], &dies);
    if (dies > 0 && ++deaths[job.id] <= dies) {
      engine::StepReport p;
      p.step = 1;
      p.total_steps = steps;
      ctx->OnProgress(p);
      return WorkerDiedError(absl::AbortedError(
          "job worker (pid 4242) killed by SIGKILL (the kernel's OOM killer or an operator)"));
    }
    int64_t sleep_ms = 0;
    if (kv.count("sleep_ms")) (void)absl::SimpleAtoi(kv["sleep_ms"], &sleep_ms);
    std::filesystem::create_directories(job.output_dir);
    std::ofstream log(LogPath(job), std::ios::app);
    std::ofstream metrics(job.output_dir + "/metrics.jsonl", std::ios::app);
    for (int64_t s = 1; s <= steps; ++s) {
      if (ctx->ShouldStop()) return RunOutcome{true, s - 1, 0, ""};
      log << "step " << s << "\n" << std::flush;
      metrics << "{\"type\":\"step\",\"step\":" << s << ",\"lm_loss\":" << 5.0 / s << "}\n"
              << std::flush;
      std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
      engine::StepReport p;
      p.step = s;
      p.total_steps = steps;
      p.lm_loss = 5.0 / s;
      p.total_loss = p.lm_loss;
      p.tokens_per_s = 1000;
      p.balance.push_back({0, {0.5, 0.5}, 0.0, 0.69, 0.01});
      ctx->OnProgress(p);
      JobEventStats es;
      es.events_enqueued = 10 * s;
      es.events_acked = 10 * s;
      if (kv.count("drop")) (void)absl::SimpleAtoi(kv["drop"], &es.events_dropped);
      ctx->OnEventStats(es);
    }
    if (kv.count("warn")) ctx->OnWarning(kv["warn"]);
    ctx->OnEval({steps, 2.0, 7.389, "valid"});
    return RunOutcome{false, steps, 2.0, job.output_dir + "/final"};
  }

  absl::StatusOr<std::optional<uint64_t>> FinishRecording(const JobRecord& job) override {
    auto kv = ParseKv(job.spec_yaml);
    {
      std::lock_guard<std::mutex> l(mu);
      finished_runs.push_back(job.id);
    }
    if (kv.count("finish_fail")) return absl::UnavailableError("recorder unreachable");
    uint64_t n = 0;
    if (!kv.count("recorded") || !absl::SimpleAtoi(kv["recorded"], &n)) {
      return std::optional<uint64_t>();
    }
    return std::optional<uint64_t>(n);
  }

  std::string LogPath(const JobRecord& job) const override {
    return job.output_dir + "/worker.log";
  }

  std::mutex mu;
  std::vector<std::string> run_order;
  std::vector<std::string> finished_runs;  // FinishRecording calls, in order
  std::map<std::string, int> deaths;       // simulated worker deaths per job
  std::atomic<int> concurrent{0};
  std::atomic<int> max_concurrent{0};
  std::atomic<int> check_files_calls{0};
};

}  // namespace monoroute::trainer::testing

#endif  // MONOROUTE_TESTS_SERVICES_TRAINER_FAKE_BACKEND_H_
