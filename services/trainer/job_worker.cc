// Job worker process: one training job, routing events to the recorder, reports on a pipe.
#include "services/trainer/job_worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/base/subprocess.h"
#include "common/engine/checkpoint_dir.h"
#include "common/engine/distributed_env.h"
#include "common/engine/job_resources.h"
#include "common/engine/job_spec.h"
#include "common/engine/train.h"
#include "common/engine/training_observer.h"
#include "common/tensor_io/torch_status.h"
#include "services/recorder/recorder_client.h"
#include "services/trainer/worker_protocol.h"

namespace monoroute::trainer {
namespace {

std::atomic<bool> g_stop{false};
void OnStopSignal(int) { g_stop.store(true); }

// Writes report lines to the parent's pipe. Thread-safe; a closed pipe (the trainer died) is
// ignored: the worker is killed with it (PR_SET_PDEATHSIG) anyway.
class ReportSink {
 public:
  explicit ReportSink(int fd) : fd_(fd) {}
  void Write(const std::string& line) {
    std::lock_guard<std::mutex> l(mu_);
    std::string buf = line + "\n";
    size_t off = 0;
    while (off < buf.size() && fd_ >= 0) {
      ssize_t n = ::write(fd_, buf.data() + off, buf.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

 private:
  std::mutex mu_;
  int fd_;
};

// JobContext that forwards to the parent as report lines.
class PipeContext : public JobContext {
 public:
  explicit PipeContext(ReportSink* sink) : sink_(sink) {}
  void OnStart(int64_t start_step, int64_t total_steps) override {
    sink_->Write(StartLine(start_step, total_steps));
  }
  void OnProgress(const engine::StepReport& p) override { sink_->Write(ProgressLine(p)); }
  void OnEval(const engine::EvalReport& e) override { sink_->Write(EvalLine(e)); }
  void OnPhase(const engine::PhaseReport& p) override { sink_->Write(PhaseLine(p)); }
  void OnCheckpoint(int64_t step, const std::string& dir, double seconds) override {
    sink_->Write(CheckpointLine(step, dir, seconds));
  }
  void OnEventStats(const JobEventStats& s) override { sink_->Write(EventStatsLine(s)); }
  void OnWarning(const std::string& m) override { sink_->Write(WarningLine(m)); }
  bool ShouldStop() override { return g_stop.load(); }

 private:
  ReportSink* sink_;
};

std::vector<uint32_t> RoutedLayers(const engine::JobSpec& spec, int64_t num_layers) {
  std::vector<uint32_t> out;
  if (!spec.routing.layers.empty()) {
    for (int64_t l : spec.routing.layers) out.push_back(static_cast<uint32_t>(l));
    return out;
  }
  int64_t every = std::max<int64_t>(1, spec.routing.route_every_n_layers);
  for (int64_t l = 0; l < num_layers; l += every) out.push_back(static_cast<uint32_t>(l));
  return out;
}

// CreateRun errors after which retrying cannot help: the run id is taken by a run with another
// spec, or the recorder refuses us. The job fails at start instead of dropping every event.
bool IsRunRejection(const absl::Status& s) {
  return absl::IsAlreadyExists(s) || absl::IsFailedPrecondition(s) || absl::IsInvalidArgument(s) ||
         absl::IsUnauthenticated(s) || absl::IsPermissionDenied(s);
}

// Bridges engine callbacks to the parent and uploads routing events.
class WorkerObserver : public engine::TrainingObserver {
 public:
  WorkerObserver(JobContext* ctx, std::string run_id, recorder::RecorderWriter* writer,
                 recorder::RunSpecLite run_spec)
      : ctx_(ctx), run_id_(std::move(run_id)), writer_(writer), run_spec_(std::move(run_spec)) {}

  void OnStart(int64_t start_step, int64_t total_steps) override {
    ctx_->OnStart(start_step, total_steps);
    Log(start_step > 0 ? absl::StrFormat("resuming at step %d of %d", start_step, total_steps)
                       : absl::StrFormat("starting at step 0 of %d", total_steps));
  }

  void OnStep(const engine::StepReport& r) override {
    ctx_->OnProgress(r);
    PublishStats();
    Log(absl::StrFormat("step %d/%d lm_loss %.4f balance_loss %.4f lr %.3g %.0f tok/s", r.step,
                        r.total_steps, r.lm_loss, r.balance_loss, r.lr, r.tokens_per_s));
  }

  void OnEval(const engine::EvalReport& r) override {
    ctx_->OnEval(r);
    Log(absl::StrFormat("eval at step %d: val_loss %.4f perplexity %.2f (%d sequences)", r.step,
                        r.val_loss, r.perplexity, r.sequences));
  }

  void OnPhase(const engine::PhaseReport& p) override {
    ctx_->OnPhase(p);
    // A line per phase start and per tenth of a counted phase (the log stays short).
    if (p.phase != last_phase_ || (p.total > 0 && (p.done * 10 / p.total) != last_tenth_)) {
      Log(p.total > 0 ? absl::StrFormat("phase %s %d/%d", p.phase, p.done, p.total)
                      : absl::StrCat("phase ", p.phase));
    }
    last_phase_ = p.phase;
    last_tenth_ = p.total > 0 ? p.done * 10 / p.total : -1;
  }

  bool WantsRoutingEvents() const override { return writer_ != nullptr; }

  void OnRoutingEvents(const events::RoutingEventBatch& b) override {
    if (!EnsureRun()) {
      dropped_locally_ += b.num_events();
      return;
    }
    events::RoutingEventView v = b.view();
    v.header.run_id = run_id_;
    writer_->Append(v);  // a drop is counted by the writer
  }

  void OnCheckpoint(int64_t step, const std::string& dir, double seconds) override {
    ctx_->OnCheckpoint(step, dir, seconds);
    PublishStats();
    Log(absl::StrFormat("checkpoint of step %d in %s (%.2f s)", step, dir, seconds));
  }

  bool ShouldStop() override { return ctx_->ShouldStop(); }

  // Pushes the attempt's event counters; `unflushed_dropped` adds events never acked because the
  // final flush timed out.
  void PublishStats(uint64_t unflushed_dropped = 0) {
    JobEventStats s;
    // The writer's upload counters (its reconnect count is not a job figure).
    if (writer_ != nullptr) s = writer_->stats();
    s.events_dropped += dropped_locally_ + unflushed_dropped;
    ctx_->OnEventStats(s);
  }

  // Declares the run before training, waiting up to kDeclareWait for the recorder's connection
  // (a loaded machine may refuse or time out the first connect). A rejection fails the job; a
  // recorder unreachable for that long is a warning (declared lazily later, events dropped and
  // counted meanwhile).
  absl::Status DeclareRun() {
    static constexpr std::chrono::milliseconds kDeclareWait{10000};
    absl::Status s = writer_->CreateRun(run_spec_, kDeclareWait);
    last_attempt_ = std::chrono::steady_clock::now();
    attempted_ = true;
    if (s.ok()) {
      run_created_ = true;
      return absl::OkStatus();
    }
    if (IsRunRejection(s)) {
      return absl::FailedPreconditionError(absl::StrCat("recorder refused run '", run_id_, "' (",
                                                        absl::StatusCodeToString(s.code()),
                                                        "): ", s.message()));
    }
    ctx_->OnWarning(absl::StrCat("recorder CreateRun failed, routing events are dropped until it ",
                                 "answers: ", s.message()));
    return absl::OkStatus();
  }

  bool run_created() const { return run_created_; }
  uint64_t dropped_locally() const { return dropped_locally_; }

  // A data-parallel job (world size > 1): every rank flushes before the engine's last agreement,
  // then rank 0 alone marks the run finished (no rank's batch may arrive after FinishRun).
  void SetDistributed(const WorkerRequest* req) { distributed_ = req; }
  absl::Status FlushEvents() override {
    if (distributed_ == nullptr || writer_ == nullptr) return absl::OkStatus();
    flushed_ = writer_->Flush(std::chrono::milliseconds(distributed_->upload.flush_timeout_ms));
    flush_done_ = true;
    return absl::OkStatus();  // a failed flush is a warning (below), not the job's failure
  }
  absl::Status OnEventsComplete() override {
    if (distributed_ == nullptr || writer_ == nullptr) return absl::OkStatus();
    const recorder::RecorderWriterStats w = writer_->stats();
    if (flushed_.ok() && dropped_locally_ == 0 && w.events_dropped == 0 &&
        distributed_->prior_events.events_dropped == 0) {
      absl::Status finished = writer_->FinishRun(run_id_, std::chrono::milliseconds(10000));
      if (!finished.ok() && !(absl::IsNotFound(finished) && !run_created_)) {
        ctx_->OnWarning(
            absl::StrCat("recorder FinishRun failed (the run stays open): ", finished.message()));
      }
    }
    return absl::OkStatus();
  }
  bool flush_done() const { return flush_done_; }
  const absl::Status& flushed() const { return flushed_; }

 private:
  // One line of the job's log (the worker's stderr is <work dir>/worker.log, which `monoroute logs`
  // streams), with a UTC timestamp.
  static void Log(const std::string& line) {
    const std::time_t t = std::time(nullptr);
    char ts[32];
    std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    fprintf(stderr, "%s %s\n", ts, line.c_str());
  }

  // Declares the run once; retried at most every 5 s while the recorder is unreachable.
  bool EnsureRun() {
    if (run_created_) return true;
    auto now = std::chrono::steady_clock::now();
    if (attempted_ && now - last_attempt_ < std::chrono::seconds(5)) return false;
    attempted_ = true;
    last_attempt_ = now;
    absl::Status s = writer_->CreateRun(run_spec_);
    if (!s.ok()) {
      fprintf(stderr,
              "monoroute-trainer worker: %s: recorder CreateRun failed (events dropped): %s\n",
              run_id_.c_str(), std::string(s.message()).c_str());
      return false;
    }
    run_created_ = true;
    return true;
  }

  JobContext* ctx_;
  std::string run_id_;
  recorder::RecorderWriter* writer_;
  recorder::RunSpecLite run_spec_;
  bool run_created_ = false;
  bool attempted_ = false;
  std::chrono::steady_clock::time_point last_attempt_;
  uint64_t dropped_locally_ = 0;
  const WorkerRequest* distributed_ = nullptr;  // set for a rank of a data-parallel job
  std::string last_phase_;
  int64_t last_tenth_ = -1;
  bool flush_done_ = false;
  absl::Status flushed_;
};

// Takes the job's lock; a previous worker of the same job (its trainer just died) may still be
// exiting. UNAVAILABLE after `timeout`.
absl::Status LockJob(const std::string& path, std::chrono::seconds timeout) {
  if (path.empty()) return absl::OkStatus();
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("job lock ", path, ": ", std::strerror(errno)));
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (std::chrono::steady_clock::now() > deadline || g_stop.load()) {
      return absl::UnavailableError(absl::StrCat("another worker of this job still holds ", path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::OkStatus();  // fd stays open (and locked) until the process exits
}

std::string MemoryLimitText() {
  rlimit r{};
  if (::getrlimit(RLIMIT_DATA, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return "no limit";
  return engine::FormatBytes(static_cast<double>(r.rlim_cur));
}

// The recorder run of the job: its routed layers, sizes and labels (job, kind, balancing,
// routing, name, and the final checkpoint's absolute path, from which the explorer's /try and
// logit tables load the model; a job stopped for good earlier never writes it).
absl::StatusOr<recorder::RunSpecLite> RecorderRunSpec(const WorkerRequest& req,
                                                      const engine::JobSpec& spec) {
  ASSIGN_OR_RETURN(engine::JobModelShape shape, engine::ResolveJobModelShape(spec));
  recorder::RunSpecLite run_spec;
  run_spec.set_run_id(req.run_id);
  for (uint32_t l : RoutedLayers(spec, shape.num_layers)) run_spec.add_routed_layers(l);
  run_spec.set_num_pathways(spec.routing.num_pathways);
  run_spec.set_top_k(spec.routing.top_k);
  run_spec.set_vocab_size(static_cast<uint32_t>(shape.vocab_size));
  run_spec.set_store_raw_events(true);
  auto& labels = *run_spec.mutable_labels();
  labels["job"] = req.job_id;
  labels["kind"] = spec.kind;
  labels["balancing"] = model::BalancingMethodName(spec.routing.balancing.method);
  labels["routing"] = engine::IsRouted(spec) ? "routed" : "dense_slices";
  if (!req.job_name.empty()) labels["name"] = req.job_name;
  labels["checkpoint"] = engine::CheckpointDir(
      std::filesystem::absolute(spec.output_dir).lexically_normal().string(), spec.optim.max_steps);
  return run_spec;
}

// The job's recorder writer (rank > 0 of a data-parallel job writes under its own writer id).
absl::StatusOr<std::unique_ptr<recorder::RecorderWriter>> MakeRecorderWriter(
    const WorkerRequest& req, int rank) {
  recorder::RecorderWriterOptions wo;
  wo.address = req.upload.recorder_address;
  wo.writer_id = rank == 0 ? req.job_id : absl::StrCat(req.job_id, "-rank", rank);
  const char* token = std::getenv(kWorkerTokenEnv);
  wo.bearer_token = token != nullptr ? token : "";
  wo.tls = req.upload.recorder_tls;
  wo.max_queue_events = std::max<size_t>(1, req.upload.max_queue_events);
  wo.max_block = std::chrono::milliseconds(req.upload.max_block_ms);
  wo.rpc_timeout = std::chrono::milliseconds(3000);
  return recorder::RecorderWriter::Create(wo);
}

// Runs the job of `req`, reporting through `ctx`.
absl::StatusOr<RunOutcome> RunJob(const WorkerRequest& req, JobContext* ctx) {
  // A rank of a data-parallel job (the trainer set the torchrun environment): its own lock and
  // its own recorder writer id.
  ASSIGN_OR_RETURN(std::optional<engine::DistributedEnv> denv,
                   engine::DistributedEnvFromEnvironment());
  const bool distributed = denv.has_value() && denv->world_size > 1;
  const int rank = distributed ? denv->rank : 0;
  const std::string lock_path = distributed && rank > 0 && !req.lock_path.empty()
                                    ? absl::StrCat(req.lock_path, ".rank", rank)
                                    : req.lock_path;
  RETURN_IF_ERROR(LockJob(lock_path, std::chrono::seconds(120)));
  ASSIGN_OR_RETURN(engine::JobSpec spec, engine::ParseJobSpecYaml(req.spec_yaml, {}));
  // The trainer resolved the thread counts (its --max-job-threads cap applies to a spec's 0).
  spec.threads = std::max(1, req.threads);
  spec.data.tokenize_threads = std::max(1, req.tokenize_threads);

  std::unique_ptr<recorder::RecorderWriter> writer;
  recorder::RunSpecLite run_spec;
  if (!req.run_id.empty() && !req.upload.recorder_address.empty()) {
    ASSIGN_OR_RETURN(run_spec, RecorderRunSpec(req, spec));
    ASSIGN_OR_RETURN(writer, MakeRecorderWriter(req, rank));
  }
  WorkerObserver observer(ctx, req.run_id, writer.get(), run_spec);
  if (distributed) observer.SetDistributed(&req);
  if (writer != nullptr) RETURN_IF_ERROR(observer.DeclareRun());

  absl::StatusOr<engine::TrainResult> result;
  try {
    result = engine::RunTrainingJob(spec, &observer);
  } catch (const std::bad_alloc&) {
    result = absl::ResourceExhaustedError(absl::StrCat(
        "out of memory (std::bad_alloc) within the job memory limit (", MemoryLimitText(),
        "); lower optim.batch_size, data.seq_len or optim.grad_accum"));
  } catch (...) {
    // LibTorch's c10::Error (its message without the C++ backtrace) or any other exception.
    result = StatusFromCurrentException("training");
  }
  if (writer != nullptr) {
    const bool complete = result.ok() && !result->stopped_early;
    // A rank of a data-parallel job flushed inside the engine already (and rank 0 finished the
    // run there); what is left after a failure or a stop is flushed here.
    absl::Status flushed =
        observer.flush_done()
            ? observer.flushed()
            : writer->Flush(std::chrono::milliseconds(complete ? req.upload.flush_timeout_ms
                                                               : req.upload.stop_flush_timeout_ms));
    uint64_t unflushed = 0;
    if (!flushed.ok()) {
      fprintf(stderr, "monoroute-trainer worker: %s: recorder flush: %s\n", req.job_id.c_str(),
              std::string(flushed.message()).c_str());
      recorder::RecorderWriterStats w = writer->stats();
      uint64_t settled = w.events_acked + w.events_dropped;
      // Not acked now and lost with the writer, unless the job resumes and re-sends them.
      if (complete && w.events_enqueued > settled) unflushed = w.events_enqueued - settled;
      if (complete) ctx->OnWarning(absl::StrCat("recorder flush: ", flushed.message()));
    }
    observer.PublishStats(unflushed);
    // A complete job whose every event is durable marks its run finished, so the recorder refuses
    // late batches (re-sends of applied ones are still acked as duplicates).
    const recorder::RecorderWriterStats w = writer->stats();
    if (!distributed && complete && flushed.ok() && observer.dropped_locally() == 0 &&
        w.events_dropped == 0 && req.prior_events.events_dropped == 0) {
      absl::Status finished = writer->FinishRun(req.run_id, std::chrono::milliseconds(10000));
      // NOT_FOUND without a CreateRun in any attempt: nothing was recorded, nothing to finish.
      const bool nothing_recorded = absl::IsNotFound(finished) && !observer.run_created() &&
                                    req.prior_events.events_enqueued == 0;
      if (!finished.ok() && !nothing_recorded) {
        ctx->OnWarning(
            absl::StrCat("recorder FinishRun failed (the run stays open): ", finished.message()));
      }
    }
  }
  if (!result.ok()) return result.status();
  RunOutcome out;
  out.stopped_early = result->stopped_early;
  out.final_step = result->final_step;
  out.final_val_loss = result->final_val_loss;
  out.checkpoint_dir = result->checkpoint_dir;
  return out;
}

}  // namespace

bool IsWorkerInvocation(int argc, char** argv) {
  return argc >= 2 && std::strcmp(argv[1], "--worker") == 0;
}

int JobWorkerMain(int argc, char** argv) {
  std::string request_path;
  int report_fd = kReportFd;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--request" && i + 1 < argc) {
      request_path = argv[++i];
    } else if (a == "--report-fd" && i + 1 < argc && absl::SimpleAtoi(argv[i + 1], &report_fd)) {
      ++i;
    } else {
      fprintf(stderr, "monoroute-trainer --worker: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  if (request_path.empty()) {
    fprintf(stderr, "monoroute-trainer --worker: --request FILE is required\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::string> text = ReadFile(request_path);
  if (!text.ok()) {
    fprintf(stderr, "monoroute-trainer --worker: %s\n",
            std::string(text.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<WorkerRequest> req = WorkerRequestFromJson(*text, request_path);
  if (!req.ok()) {
    fprintf(stderr, "monoroute-trainer --worker: %s\n",
            std::string(req.status().message()).c_str());
    return 2;
  }
  ReportSink sink(report_fd);
  PipeContext ctx(&sink);
  absl::StatusOr<RunOutcome> result = RunJob(*req, &ctx);
  if (!result.ok()) {
    fprintf(stderr, "monoroute-trainer worker: %s: %s\n", req->job_id.c_str(),
            std::string(result.status().message()).c_str());
  }
  sink.Write(ResultLine(result));
  // The result is out: skip static destructors (LibTorch's and OpenMP's can hang or crash at
  // exit), which would turn a finished job into a "crash" for the supervisor.
  std::fflush(nullptr);
  _exit(0);
}

}  // namespace monoroute::trainer
