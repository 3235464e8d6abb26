// monoroute-trainer: the training-job service (flags only; see job_manager.h, trainer_service.h).
// `monoroute-trainer --worker ...` is the hidden job worker mode the service starts per job
// (job_worker.h), so one binary deploys both.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status_macros.h"
#include "common/service/auth.h"
#include "common/service/server_runner.h"
#include "common/service/service_flags.h"
#include "prometheus/registry.h"
#include "services/trainer/engine_backend.h"
#include "services/trainer/job_manager.h"
#include "services/trainer/job_worker.h"
#include "services/trainer/trainer_service.h"

namespace {

// Reads a token file (surrounding whitespace stripped); empty path -> empty token.
absl::StatusOr<std::string> ReadToken(const std::string& flag, const std::string& path) {
  if (path.empty()) return std::string();
  return monoroute::ReadTokenFile(flag, path);
}

int Fail(const absl::Status& s) {
  std::cerr << "monoroute-trainer: " << s.message() << "\n";
  return 1;
}

// Everything the flags set: bound straight into the options structs (their defaults are the
// flags' defaults).
struct TrainerFlags {
  std::string listen = "127.0.0.1:7103";
  std::string metrics_listen = "127.0.0.1:7113";
  std::string recorder_token_file;
  int64_t job_stop_grace_s = 30;
  int64_t metrics_job_linger_s = 300;
  monoroute::ServerFlags server;
  monoroute::trainer::EngineBackendOptions backend;
  monoroute::trainer::JobManagerOptions manager;
};

void AddFlags(CLI::App& app, TrainerFlags* f) {
  // Every flag's help shows its default (the in-class value of its options field).
  app.option_defaults()->always_capture_default();
  f->server.max_receive_mb = 4;  // job specs (the spec itself is limited further by the manager)
  f->server.max_send_mb = 64;    // ListJobs carries every job with its spec
  auto& bo = f->backend;
  auto& mo = f->manager;
  app.add_option("--listen", f->listen, "gRPC address host:port");
  app.add_option("--data-dir", mo.data_dir, "Job store and default job outputs")->required();
  app.add_option("--recorder", bo.upload.recorder_address,
                 "Recorder address (empty: events are not recorded)");
  app.add_option("--metrics-listen", f->metrics_listen, "Prometheus /metrics address (empty: off)");
  app.add_option("--device", mo.default_device, "Device of jobs whose spec names none");
  app.add_option("--allowed-root", mo.allowed_roots,
                 "Spec paths must lie under one of these (repeatable; default: --data-dir)")
      ->default_str("");  // an empty list stands for --data-dir, said in the text
  monoroute::AddServerFlags(&app, "SubmitJob/CancelJob", &f->server);
  app.add_option("--recorder-token-file", f->recorder_token_file, "Bearer token for the recorder");
  monoroute::AddChannelTlsFlags(&app, "recorder", &bo.upload.recorder_tls);
  app.add_option("--max-queue-events", bo.upload.max_queue_events,
                 "Recorder upload queue bound (events)");
  app.add_option("--max-block-ms", bo.upload.max_block_ms,
                 "Longest a step waits for upload queue space before dropping (counted)");
  app.add_option("--job-memory-limit-mb", bo.job_memory_limit_mb,
                 "Memory limit of each job's worker (RLIMIT_DATA on CPU jobs, and the bound of the "
                 "estimate checked at SubmitJob); 0: 3/4 of the machine's memory");
  app.add_option("--max-job-threads", bo.max_job_threads,
                 "Cap on a job's threads and data.tokenize_threads (a spec's 0 resolves to it); "
                 "0: the CPUs available");
  app.add_option("--max-job-retries", mo.max_job_retries,
                 "Restarts of a job that was RUNNING when the trainer died; then it is FAILED");
  app.add_option("--max-worker-retries", mo.max_worker_retries,
                 "Retries (from the last checkpoint) of a job whose worker process died; then it "
                 "is FAILED");
  app.add_option("--worker-retry-backoff-ms", mo.worker_retry_backoff_ms,
                 "Wait before the first retry of a dead worker (doubles per retry, <= 60 s)");
  app.add_option("--job-stop-grace-s", f->job_stop_grace_s,
                 "Seconds a cancelled or stopped job's worker gets to checkpoint before SIGKILL");
  app.add_option("--metrics-job-linger-s", f->metrics_job_linger_s,
                 "Seconds an ended job's job_id metric series stay before they are removed");
}

// Checks the flags' files and paths and fills what derives from them.
absl::Status Resolve(TrainerFlags* f) {
  auto& bo = f->backend;
  auto& mo = f->manager;
  ASSIGN_OR_RETURN(bo.recorder_token, ReadToken("--recorder-token-file", f->recorder_token_file));
  if (bo.upload.recorder_tls.enabled()) {  // the job workers build the channel: check the files now
    RETURN_IF_ERROR(monoroute::ChannelCredentialsFromOptions(bo.upload.recorder_tls).status());
  }
  if (f->job_stop_grace_s < 0)
    return absl::InvalidArgumentError("--job-stop-grace-s: must be >= 0");
  if (f->metrics_job_linger_s < 0 || f->metrics_job_linger_s > 7 * 24 * 3600) {
    return absl::InvalidArgumentError("--metrics-job-linger-s: must be in [0, 604800]");
  }
  std::error_code ec;
  std::filesystem::create_directories(mo.data_dir, ec);
  mo.data_dir = std::filesystem::absolute(mo.data_dir).lexically_normal().string();
  if (mo.allowed_roots.empty()) mo.allowed_roots.push_back(mo.data_dir);
  for (auto& r : mo.allowed_roots) r = std::filesystem::absolute(r).lexically_normal().string();
  bo.work_dir = (std::filesystem::path(mo.data_dir) / "work").string();
  bo.stop_grace_ms = f->job_stop_grace_s * 1000;
  mo.metrics_job_linger_ms = f->metrics_job_linger_s * 1000;
  // Auth is checked by TrainerServiceImpl (common/service BearerAuth), not by the manager.
  mo.start_runner = false;
  return absl::OkStatus();
}

// Builds the backend, the job manager and the service, and serves until SIGTERM / SIGINT.
absl::Status RunTrainer(TrainerFlags& f) {
  ASSIGN_OR_RETURN(monoroute::AuthOptions auth, monoroute::LoadAuthOptions(f.server));
  RETURN_IF_ERROR(Resolve(&f));
  ASSIGN_OR_RETURN(auto backend, monoroute::trainer::EngineBackend::Create(f.backend));
  std::cout << "monoroute-trainer: jobs run in worker processes (memory limit "
            << backend->job_memory_limit_mb() << " MiB, threads <= " << backend->max_job_threads()
            << ", retries after a trainer crash " << f.manager.max_job_retries
            << ", after a worker death " << f.manager.max_worker_retries << ")" << std::endl;
  auto registry = std::make_shared<prometheus::Registry>();
  monoroute::trainer::JobManagerOptions mo = f.manager;
  mo.backend = std::shared_ptr<monoroute::trainer::JobBackend>(std::move(backend));
  mo.registry = registry.get();
  ASSIGN_OR_RETURN(std::unique_ptr<monoroute::trainer::JobManager> manager,
                   monoroute::trainer::JobManager::Create(mo));
  monoroute::trainer::TrainerServiceImpl service(manager.get(), auth);
  monoroute::ServerRunnerOptions so;
  so.listen = f.listen;
  so.metrics_listen = f.metrics_listen;
  so.service_name = "monoroute.trainer.v1.Trainer";
  so.metrics_prefix = "monoroute_trainer";
  monoroute::ApplyServerFlags(f.server, &so);
  const std::string& recorder = f.backend.upload.recorder_address;
  so.on_started = [&](int port) {
    std::cout << "monoroute-trainer: listening on port " << port << " (data " << mo.data_dir
              << ", recorder " << (recorder.empty() ? "none" : recorder)
              << (f.backend.upload.recorder_tls.enabled() ? " over TLS" : "") << ", "
              << monoroute::DescribeTls(so.tls) << ", " << monoroute::BearerAuth(auth).Describe()
              << ")" << std::endl;
    manager->StartRunner();
  };
  so.on_shutdown = [&] { manager->Shutdown(); };
  absl::Status s = monoroute::RunServer(so, {&service}, registry);
  manager->Shutdown();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (monoroute::trainer::IsWorkerInvocation(argc, argv)) {
    return monoroute::trainer::JobWorkerMain(argc, argv);
  }
  CLI::App app{"monoroute-trainer: runs training jobs (monoroute.trainer.v1)"};
  TrainerFlags flags;
  AddFlags(app, &flags);
  CLI11_PARSE(app, argc, argv);
  absl::Status s = RunTrainer(flags);
  return s.ok() ? 0 : Fail(s);
}
