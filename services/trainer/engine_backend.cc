// Engine-backed jobs: validation at submission, supervised worker processes at run time.
#include "services/trainer/engine_backend.h"

#include <signal.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/base/subprocess.h"
#include "common/engine/checkpoint_dir.h"
#include "common/engine/distributed_env.h"
#include "common/engine/job_resources.h"
#include "common/engine/job_spec.h"
#include "common/engine/rank_launcher.h"
#include "services/trainer/recorder_run.h"
#include "services/trainer/worker_protocol.h"

namespace monoroute::trainer {
namespace {

namespace fs = std::filesystem;

// Whether the user set top-level `key` in the YAML or the overrides.
bool NamesKey(const std::string& yaml, const std::vector<std::string>& overrides,
              const std::string& key) {
  for (const auto& o : overrides) {
    if (absl::StartsWith(o, key + "=")) return true;
  }
  try {
    YAML::Node n = YAML::Load(yaml);
    return n.IsMap() && n[key].IsDefined() && !n[key].IsNull();
  } catch (const YAML::Exception&) {
    return false;  // the engine's parser reports the syntax error
  }
}

// A YAML single-quoted scalar.
std::string YamlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// The memory limit of a job in bytes, and its name for messages.
std::pair<int64_t, std::string> MemoryLimit(const engine::JobSpec& spec, int64_t server_mb) {
  if (spec.memory_limit_mb > 0 && spec.memory_limit_mb < server_mb) {
    return {spec.memory_limit_mb << 20, absl::StrCat("memory_limit_mb ", spec.memory_limit_mb)};
  }
  return {server_mb << 20, absl::StrCat("--job-memory-limit-mb ", server_mb)};
}

struct RankWorker;

// The JobContext of one rank's report lines: rank 0's pass through; every rank's event stats are
// summed (each rank uploads its own share of the events); other ranks' warnings are prefixed.
class RankContext : public JobContext {
 public:
  RankContext(JobContext* job, int rank, std::vector<RankWorker>* ranks)
      : job_(job), rank_(rank), ranks_(ranks) {}
  void OnStart(int64_t start_step, int64_t total_steps) override {
    if (rank_ == 0) job_->OnStart(start_step, total_steps);
  }
  void OnProgress(const engine::StepReport& p) override {
    if (rank_ == 0) job_->OnProgress(p);
  }
  void OnEval(const engine::EvalReport& e) override {
    if (rank_ == 0) job_->OnEval(e);
  }
  void OnPhase(const engine::PhaseReport& p) override {
    if (rank_ == 0) job_->OnPhase(p);
  }
  void OnCheckpoint(int64_t step, const std::string& dir, double seconds) override {
    if (rank_ == 0) job_->OnCheckpoint(step, dir, seconds);
  }
  void OnEventStats(const JobEventStats& s) override;
  void OnWarning(const std::string& m) override {
    job_->OnWarning(rank_ == 0 ? m : absl::StrCat("rank ", rank_, ": ", m));
  }
  bool ShouldStop() override { return job_->ShouldStop(); }
  JobEventStats stats;  // this rank's latest

 private:
  JobContext* job_;
  int rank_;
  std::vector<RankWorker>* ranks_;
};

// One rank's worker process and what it reported.
struct RankWorker {
  std::unique_ptr<Subprocess> proc;
  std::unique_ptr<RankContext> ctx;
  std::string log;
  WorkerResult result;
  std::optional<ExitInfo> exit;
  bool eof = false;
};

void RankContext::OnEventStats(const JobEventStats& s) {
  stats = s;
  JobEventStats sum;
  for (const RankWorker& w : *ranks_) {
    if (w.ctx != nullptr) sum += w.ctx->stats;
  }
  job_->OnEventStats(sum);
}

// Why a worker that left no result ended, for the job's failure reason.
std::string CrashReason(pid_t pid, const ExitInfo& exit, const std::string& log) {
  std::string why = absl::StrCat("job worker (pid ", pid, ") ", exit.Describe());
  if (exit.signaled && exit.signal == SIGKILL) {
    absl::StrAppend(&why, " (the kernel's OOM killer or an operator)");
  } else if (exit.signaled) {
    absl::StrAppend(&why, " (it crashed)");
  } else if (exit.code == 127) {
    absl::StrAppend(&why, " (the worker binary could not be started)");
  } else if (exit.code == 0) {
    absl::StrAppend(&why, " without reporting a result");
  }
  std::string tail = TailLines(log);
  if (!tail.empty()) absl::StrAppend(&why, "; last output: ", tail);
  return why;
}

// A worker that left no result because it died (a signal, or an exit other than "could not
// start" (127) or "bad arguments" (2)): the job may be retried from its last checkpoint.
absl::Status WorkerExitError(pid_t pid, const ExitInfo& exit, const std::string& log,
                             const std::string& prefix = "") {
  absl::Status s = absl::AbortedError(absl::StrCat(prefix, CrashReason(pid, exit, log)));
  if (exit.signaled || (exit.code != 127 && exit.code != 2)) return WorkerDiedError(s);
  return s;
}

std::string NowText() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// A new job (its first attempt) continues checkpoints in its output_dir only with `resume: must`:
// anything there belongs to another job (re-submitting a finished spec used to "succeed" with zero
// new steps). `must` needs a checkpoint; `never` refuses one (the engine checks both too).
absl::Status CheckNewJobOutputDir(const engine::JobSpec& spec) {
  const auto latest = engine::LatestCheckpoint(spec.output_dir);
  if (spec.resume == "must") {
    if (latest.has_value()) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "resume: must, but output_dir ", spec.output_dir, " holds no checkpoint to continue"));
  }
  if (!latest.has_value()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "output_dir ", spec.output_dir, " already holds the checkpoint of step ", latest->first,
      " (of an earlier job): set resume: must to continue it (", latest->first, " of ",
      spec.optim.max_steps, " steps done), or use another output_dir"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EngineBackend>> EngineBackend::Create(
    const EngineBackendOptions& options) {
  EngineBackendOptions o = options;
  if (o.upload.max_queue_events == 0)
    return absl::InvalidArgumentError("max_queue_events: must be > 0");
  if (o.job_memory_limit_mb < 0) {
    return absl::InvalidArgumentError("--job-memory-limit-mb: must be >= 0 (0: 3/4 of memory)");
  }
  if (o.job_memory_limit_mb == 0)
    o.job_memory_limit_mb = engine::MachineMemoryBytes() / 4 * 3 >> 20;
  if (o.max_job_threads < 0) return absl::InvalidArgumentError("--max-job-threads: must be >= 0");
  if (o.max_job_threads == 0) o.max_job_threads = engine::ResolveJobThreads(0, 0);
  if (o.max_job_threads > engine::kMaxJobThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-job-threads: must be <= ", engine::kMaxJobThreads));
  }
  if (o.stop_grace_ms < 0) return absl::InvalidArgumentError("--job-stop-grace-s: must be >= 0");
  // This very binary, even if its file was replaced or deleted since it started (an upgrade):
  // a worker always speaks its trainer's protocol version.
  if (o.worker_binary.empty()) o.worker_binary = "/proc/self/exe";
  return std::unique_ptr<EngineBackend>(new EngineBackend(o));
}

absl::StatusOr<PreparedSpec> EngineBackend::Prepare(const std::string& spec_yaml,
                                                    const std::vector<std::string>& overrides,
                                                    const std::string& default_output_dir,
                                                    const std::string& default_device) {
  // The parser's limits first (size, aliases, nodes), before anything else looks at the YAML.
  RETURN_IF_ERROR(engine::CheckJobSpecLimits(spec_yaml, overrides));
  // Defaults go first, so the user's own overrides still win.
  std::vector<std::string> all;
  const bool user_output = NamesKey(spec_yaml, overrides, "output_dir");
  if (!user_output) all.push_back("output_dir=" + YamlQuote(default_output_dir));
  if (!NamesKey(spec_yaml, overrides, "device"))
    all.push_back("device=" + YamlQuote(default_device));
  all.insert(all.end(), overrides.begin(), overrides.end());
  ASSIGN_OR_RETURN(engine::JobSpec spec, engine::ParseJobSpecYaml(spec_yaml, all));
  // Server caps.
  const int cap = options_.max_job_threads;
  if (spec.threads > cap) {
    return absl::InvalidArgumentError(absl::StrCat(
        "threads: ", spec.threads, " exceeds the server's cap --max-job-threads ", cap));
  }
  if (spec.data.tokenize_threads > cap) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.tokenize_threads: ", spec.data.tokenize_threads,
                     " exceeds the server's cap --max-job-threads ", cap));
  }
  const int nproc = spec.distributed.nproc_per_node;
  if (nproc > cap) {
    return absl::InvalidArgumentError(absl::StrCat("distributed.nproc_per_node: ", nproc,
                                                   " exceeds the server's cap --max-job-threads ",
                                                   cap, " (each rank needs a CPU)"));
  }
  if (spec.optim.batch_size % nproc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("optim.batch_size: ", spec.optim.batch_size,
                     " (the global batch) is not divisible by distributed.nproc_per_node ", nproc));
  }
  if (spec.memory_limit_mb > options_.job_memory_limit_mb) {
    return absl::InvalidArgumentError(absl::StrCat("memory_limit_mb: ", spec.memory_limit_mb,
                                                   " exceeds the server's --job-memory-limit-mb ",
                                                   options_.job_memory_limit_mb));
  }
  PreparedSpec p;
  if (user_output) p.paths.push_back({"output_dir", spec.output_dir});
  if (!spec.model_dir.empty()) p.paths.push_back({"model_dir", spec.model_dir});
  if (!spec.model.config_path.empty())
    p.paths.push_back({"model.config_path", spec.model.config_path});
  if (!spec.data.train_path.empty()) p.paths.push_back({"data.train_path", spec.data.train_path});
  if (!spec.data.valid_path.empty()) p.paths.push_back({"data.valid_path", spec.data.valid_path});
  if (!spec.data.tokenizer_dir.empty()) {
    p.paths.push_back({"data.tokenizer_dir", spec.data.tokenizer_dir});
  }
  if (!spec.data.cache_dir.empty()) p.paths.push_back({"data.cache_dir", spec.data.cache_dir});
  p.spec_yaml = engine::JobSpecToYaml(spec);
  p.kind = spec.kind;
  p.name = spec.name;
  p.output_dir = spec.output_dir;
  p.device = spec.device;
  // Routed jobs record their routing (sampled steps, checkpoint and final evaluations, controls);
  // dense jobs
  // record their neuron slices at the final evaluation.
  p.records_events = !options_.upload.recorder_address.empty() &&
                     (spec.record.eval_split_events ||
                      (engine::IsRouted(spec) &&
                       (spec.record.sample_rate > 0 || spec.record.eval_at_checkpoints)));
  return p;
}

absl::Status EngineBackend::CheckFiles(const PreparedSpec& prepared) {
  ASSIGN_OR_RETURN(engine::JobSpec spec, engine::ParseJobSpecYaml(prepared.spec_yaml, {}));
  RETURN_IF_ERROR(engine::ValidateJobSpecPaths(spec));
  RETURN_IF_ERROR(CheckNewJobOutputDir(spec));
  ASSIGN_OR_RETURN(engine::JobModelShape shape, engine::ResolveJobModelShape(spec));
  RETURN_IF_ERROR(engine::ValidateJobSpecForModel(spec, shape));
  engine::JobResourceOptions ro;
  ro.threads = engine::ResolveJobThreads(spec.threads, options_.max_job_threads);
  ro.tokenize_threads =
      engine::ResolveJobThreads(spec.data.tokenize_threads, options_.max_job_threads);
  ro.data_bytes = engine::JobDataBytes(spec);
  ro.event_queue_events =
      prepared.records_events ? static_cast<int64_t>(options_.upload.max_queue_events) : 0;
  const engine::JobResourceEstimate estimate = engine::EstimateJobResources(spec, shape, ro);
  const auto [limit, limit_name] = MemoryLimit(spec, options_.job_memory_limit_mb);
  return engine::CheckJobMemory(estimate, limit, limit_name);
}

namespace {

// Writes the worker request of `job`'s attempt into `dir` and opens its log (the previous
// attempts' output rotates to worker.log.1 past 4 MiB). Returns {request path, rank 0's log}.
absl::StatusOr<std::pair<std::string, std::string>> WriteWorkerRequest(
    const EngineBackendOptions& o, const JobRecord& job, const engine::JobSpec& spec,
    const std::string& spec_yaml, const fs::path& dir) {
  WorkerRequest req;
  req.job_id = job.id;
  req.job_name = job.name;
  req.spec_yaml = spec_yaml;
  req.run_id = job.recorder_run_id;
  req.upload = o.upload;
  req.threads = engine::ResolveJobThreads(spec.threads, o.max_job_threads);
  // A spec's 0 (every allowed CPU) is shared by the job's ranks.
  if (spec.threads == 0) req.threads = std::max(1, req.threads / spec.distributed.nproc_per_node);
  req.tokenize_threads = engine::ResolveJobThreads(spec.data.tokenize_threads, o.max_job_threads);
  req.prior_events = job.events;
  req.lock_path = (dir / "lock").string();
  const std::string request_path = (dir / "request.json").string();
  RETURN_IF_ERROR(WriteFileAtomic(request_path, WorkerRequestToJson(req)));
  const std::string log = (dir / "worker.log").string();
  std::error_code ec;
  const uintmax_t log_size = fs::file_size(log, ec);
  if (!ec && log_size > (uintmax_t{4} << 20)) fs::rename(log, log + ".1", ec);
  std::ofstream(log, std::ios::app)
      << "--- " << job.id << " worker start " << NowText() << " ---" << std::endl;
  return std::make_pair(request_path, log);
}

// Starts one worker per rank (distributed.nproc_per_node; 1: a single worker, no rank
// environment) into `ranks` (sized nproc; RankContexts point into it).
absl::Status StartRankWorkers(const EngineBackendOptions& o, const JobRecord& job,
                              const engine::JobSpec& spec, const fs::path& dir,
                              const std::string& request_path, const std::string& log,
                              JobContext* ctx, std::vector<RankWorker>* ranks) {
  const int nproc = static_cast<int>(ranks->size());
  int port = 0;
  if (nproc > 1) {
    ASSIGN_OR_RETURN(port, engine::PickFreePort("127.0.0.1"));
  }
  for (int r = 0; r < nproc; ++r) {
    RankWorker& w = (*ranks)[static_cast<size_t>(r)];
    w.log = r == 0 ? log : (dir / absl::StrCat("worker-rank", r, ".log")).string();
    if (r > 0) {
      std::ofstream(w.log, std::ios::app)
          << "--- " << job.id << " rank " << r << " start " << NowText() << " ---" << std::endl;
    }
    SubprocessOptions so;
    so.argv = {o.worker_binary, "--worker", "--request", request_path};
    if (!o.recorder_token.empty()) {
      so.env.push_back(absl::StrCat(kWorkerTokenEnv, "=", o.recorder_token));
    }
    if (nproc > 1) {
      engine::DistributedEnv env;
      env.rank = env.local_rank = r;
      env.world_size = env.local_world_size = nproc;
      env.master_addr = "127.0.0.1";
      env.master_port = port;
      for (std::string& kv : engine::DistributedEnvironment(env)) so.env.push_back(std::move(kv));
    }
    so.log_path = w.log;
    so.report_pipe = true;
    // RLIMIT_DATA bounds the host memory of a CPU job (of each rank). A CUDA job's tensors live
    // on the device and the CUDA driver's own host mappings would count, so it gets none.
    if (spec.device == "cpu")
      so.memory_limit_bytes = MemoryLimit(spec, o.job_memory_limit_mb).first;
    ASSIGN_OR_RETURN(w.proc, Subprocess::Start(so));
    w.ctx = std::make_unique<RankContext>(ctx, r, ranks);
  }
  return absl::OkStatus();
}

// How supervising the ranks ended.
struct Supervision {
  int failed_rank = -1;    // the first rank that failed (its error is the job's); -1: none
  bool stop_sent = false;  // SIGTERM was sent (a cancel, a shutdown or a failed rank)
};

// Feeds report lines to the ranks' contexts until every worker exited: a failed rank stops the
// others, a stop request (cancel / shutdown) stops all, SIGKILL after stop_grace_ms.
Supervision SuperviseRankWorkers(const EngineBackendOptions& o, const JobRecord& job,
                                 JobContext* ctx, std::vector<RankWorker>& ranks) {
  Supervision sv;
  bool kill_sent = false;
  std::chrono::steady_clock::time_point stop_at;
  auto stop_all = [&](int sig) {
    for (RankWorker& w : ranks) {
      if (!w.exit.has_value()) w.proc->SignalGroup(sig);
    }
    if (sig == SIGTERM && !sv.stop_sent) stop_at = std::chrono::steady_clock::now();
    if (sig == SIGTERM) sv.stop_sent = true;
  };
  const auto poll = std::chrono::milliseconds(ranks.size() > 1 ? 20 : 100);
  std::vector<std::string> lines;
  while (true) {
    bool all_exited = true;
    for (size_t r = 0; r < ranks.size(); ++r) {
      RankWorker& w = ranks[r];
      if (w.exit.has_value()) continue;
      lines.clear();
      w.proc->ReadLines(poll, &lines, &w.eof);
      for (const std::string& line : lines) {
        absl::Status s = HandleReportLine(line, w.ctx.get(), &w.result);
        if (!s.ok()) {
          fprintf(stderr, "monoroute-trainer: %s: ignoring a worker line: %s\n", job.id.c_str(),
                  std::string(s.message()).c_str());
        }
      }
      if (w.eof || lines.empty()) w.exit = w.proc->TryWait();
      if (!w.exit.has_value()) {
        all_exited = false;
        continue;
      }
      const bool failed = !w.exit->ok() || !w.result.received || !w.result.status.ok();
      if (failed && sv.failed_rank < 0 && !sv.stop_sent && ranks.size() > 1) {
        // One rank failed: the others cannot go on (they would exit naming it anyway).
        sv.failed_rank = static_cast<int>(r);
        stop_all(SIGTERM);
      }
    }
    if (all_exited) break;
    // On a stop each rank checkpoints (rank 0) at the same next step and exits.
    if (!sv.stop_sent && ctx->ShouldStop()) stop_all(SIGTERM);
    if (sv.stop_sent && !kill_sent &&
        std::chrono::steady_clock::now() - stop_at > std::chrono::milliseconds(o.stop_grace_ms)) {
      fprintf(stderr, "monoroute-trainer: %s: worker %d did not stop within %lld ms: SIGKILL\n",
              job.id.c_str(), static_cast<int>(ranks[0].proc->pid()),
              static_cast<long long>(o.stop_grace_ms));
      stop_all(SIGKILL);
      kill_sent = true;
    }
  }
  // Lines written just before the exits.
  for (RankWorker& w : ranks) {
    for (int i = 0; i < 1000 && !w.eof; ++i) {
      lines.clear();
      w.proc->ReadLines(std::chrono::milliseconds(0), &lines, &w.eof);
      if (lines.empty() && !w.eof) break;
      for (const std::string& line : lines) (void)HandleReportLine(line, w.ctx.get(), &w.result);
    }
  }
  return sv;
}

// The job's outcome from its exited ranks: a failed rank's error, rank 0's result when every
// rank finished, a stopped-early outcome after a stop, else rank 0's exit.
absl::StatusOr<RunOutcome> RankWorkersOutcome(std::vector<RankWorker>& ranks,
                                              const Supervision& sv) {
  if (sv.failed_rank >= 0) {
    // A distributed job whose rank failed: that rank's error (or crash) is the job's.
    RankWorker& w = ranks[static_cast<size_t>(sv.failed_rank)];
    if (w.result.received && !w.result.status.ok()) {
      return absl::Status(w.result.status.code(),
                          absl::StrCat("rank ", sv.failed_rank, ": ", w.result.status.message()));
    }
    if (!w.result.received) {
      return WorkerExitError(w.proc->pid(), *w.exit, w.log,
                             absl::StrCat("rank ", sv.failed_rank, ": "));
    }
  }
  RankWorker& w0 = ranks[0];
  if (w0.result.received) {
    if (!w0.result.status.ok()) return w0.result.status;
    for (size_t r = 1; r < ranks.size(); ++r) {  // every rank must have finished too
      RankWorker& w = ranks[r];
      if (w.result.received && !w.result.status.ok()) {
        return absl::Status(w.result.status.code(),
                            absl::StrCat("rank ", r, ": ", w.result.status.message()));
      }
      if (!w.result.received && !sv.stop_sent) {
        return WorkerExitError(w.proc->pid(), *w.exit, w.log, absl::StrCat("rank ", r, ": "));
      }
    }
    return w0.result.outcome;
  }
  if (sv.stop_sent) {
    // Cancelled or shut down, and the worker had to be killed (or died) before reporting: the
    // job resumes from its last checkpoint.
    RunOutcome out;
    out.stopped_early = true;
    return out;
  }
  return WorkerExitError(w0.proc->pid(), *w0.exit, w0.log);
}

}  // namespace

absl::StatusOr<RunOutcome> EngineBackend::Run(const JobRecord& job, JobContext* ctx) {
  if (options_.work_dir.empty()) {
    return absl::FailedPreconditionError("engine backend: no work_dir for job workers");
  }
  ASSIGN_OR_RETURN(engine::JobSpec spec, engine::ParseJobSpecYaml(job.spec_yaml, {}));
  std::string spec_yaml = job.spec_yaml;
  if (job.resumes == 0) {
    // The first attempt: the output dir may have been filled since the submission (a job queued
    // before this one with the same output_dir).
    RETURN_IF_ERROR(CheckNewJobOutputDir(spec));
  } else if (spec.resume != "auto") {
    // A later attempt continues the job's own checkpoints, whatever its policy said about others.
    spec.resume = "auto";
    spec_yaml = engine::JobSpecToYaml(spec);
  }
  const fs::path dir = fs::path(options_.work_dir) / job.id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  }
  ASSIGN_OR_RETURN(auto files, WriteWorkerRequest(options_, job, spec, spec_yaml, dir));
  // Rank 0's reports drive the job; every rank uploads its own events, their stats are summed.
  std::vector<RankWorker> ranks(static_cast<size_t>(spec.distributed.nproc_per_node));
  RETURN_IF_ERROR(
      StartRankWorkers(options_, job, spec, dir, files.first, files.second, ctx, &ranks));
  ctx->OnWorker(ranks[0].proc->pid());
  const Supervision sv = SuperviseRankWorkers(options_, job, ctx, ranks);
  ctx->OnWorker(0);
  return RankWorkersOutcome(ranks, sv);
}

std::string EngineBackend::LogPath(const JobRecord& job) const {
  if (options_.work_dir.empty()) return "";
  return (fs::path(options_.work_dir) / job.id / "worker.log").string();
}

absl::StatusOr<std::optional<uint64_t>> EngineBackend::FinishRecording(const JobRecord& job) {
  if (job.recorder_run_id.empty() || options_.upload.recorder_address.empty()) {
    return std::optional<uint64_t>();
  }
  RecorderRunOptions ro;
  ro.address = options_.upload.recorder_address;
  ro.bearer_token = options_.recorder_token;
  ro.tls = options_.upload.recorder_tls;
  absl::StatusOr<uint64_t> events = FinishRecorderRun(ro, job.recorder_run_id);
  // No run was ever declared (the recorder never answered, or the job failed before): nothing to
  // finish and nothing recorded.
  if (absl::IsNotFound(events.status())) return std::optional<uint64_t>();
  if (!events.ok()) return events.status();
  return std::optional<uint64_t>(*events);
}

}  // namespace monoroute::trainer
