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

}  // namespace

int main(int argc, char** argv) {
  if (monoroute::trainer::IsWorkerInvocation(argc, argv)) {
    return monoroute::trainer::JobWorkerMain(argc, argv);
  }
  CLI::App app{"monoroute-trainer: runs training jobs (monoroute.trainer.v1)"};
  std::string listen = "127.0.0.1:7103", data_dir, recorder, metrics_listen = "127.0.0.1:7113";
  std::string device = "cpu", recorder_token_file;
  monoroute::ServerFlags flags;
  flags.max_receive_mb = 4;  // job specs (the spec itself is limited further by the manager)
  flags.max_send_mb = 64;    // ListJobs carries every job with its spec
  monoroute::ChannelTlsOptions recorder_tls;
  std::vector<std::string> allowed_roots;
  size_t max_queue_events = size_t{1} << 21;
  int64_t max_block_ms = 200;
  int64_t job_memory_limit_mb = 0, job_stop_grace_s = 30;
  int max_job_threads = 0, max_job_retries = 2, max_worker_retries = 2;
  int64_t worker_retry_backoff_ms = 1000;
  app.add_option("--listen", listen, "gRPC address host:port")->capture_default_str();
  app.add_option("--data-dir", data_dir, "Job store and default job outputs")->required();
  app.add_option("--recorder", recorder, "Recorder address (empty: events are not recorded)");
  app.add_option("--metrics-listen", metrics_listen, "Prometheus /metrics address (empty: off)")
      ->capture_default_str();
  app.add_option("--device", device, "Device of jobs whose spec names none")->capture_default_str();
  app.add_option("--allowed-root", allowed_roots,
                 "Spec paths must lie under one of these (repeatable; default: --data-dir)");
  monoroute::AddServerFlags(&app, "SubmitJob/CancelJob", &flags);
  app.add_option("--recorder-token-file", recorder_token_file, "Bearer token for the recorder");
  monoroute::AddChannelTlsFlags(&app, "recorder", &recorder_tls);
  app.add_option("--max-queue-events", max_queue_events, "Recorder upload queue bound (events)")
      ->capture_default_str();
  app.add_option("--max-block-ms", max_block_ms,
                 "Longest a step waits for upload queue space before dropping (counted)")
      ->capture_default_str();
  app.add_option("--job-memory-limit-mb", job_memory_limit_mb,
                 "Memory limit of each job's worker (RLIMIT_DATA on CPU jobs, and the bound of the "
                 "estimate checked at SubmitJob); 0: 3/4 of the machine's memory")
      ->capture_default_str();
  app.add_option("--max-job-threads", max_job_threads,
                 "Cap on a job's threads and data.tokenize_threads (a spec's 0 resolves to it); "
                 "0: the CPUs available")
      ->capture_default_str();
  app.add_option("--max-job-retries", max_job_retries,
                 "Restarts of a job that was RUNNING when the trainer died; then it is FAILED")
      ->capture_default_str();
  app.add_option("--max-worker-retries", max_worker_retries,
                 "Retries (from the last checkpoint) of a job whose worker process died; then it "
                 "is FAILED")
      ->capture_default_str();
  app.add_option("--worker-retry-backoff-ms", worker_retry_backoff_ms,
                 "Wait before the first retry of a dead worker (doubles per retry, <= 60 s)")
      ->capture_default_str();
  app.add_option("--job-stop-grace-s", job_stop_grace_s,
                 "Seconds a cancelled or stopped job's worker gets to checkpoint before SIGKILL")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto auth = monoroute::LoadAuthOptions(flags);
  if (!auth.ok()) return Fail(auth.status());
  auto recorder_token = ReadToken("--recorder-token-file", recorder_token_file);
  if (!recorder_token.ok()) return Fail(recorder_token.status());
  if (recorder_tls.enabled()) {  // the job workers build the channel: check the files now
    auto creds = monoroute::ChannelCredentialsFromOptions(recorder_tls);
    if (!creds.ok()) return Fail(creds.status());
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  data_dir = std::filesystem::absolute(data_dir).lexically_normal().string();
  if (allowed_roots.empty()) allowed_roots.push_back(data_dir);
  for (auto& r : allowed_roots) r = std::filesystem::absolute(r).lexically_normal().string();

  monoroute::trainer::EngineBackendOptions bo;
  bo.recorder_address = recorder;
  bo.recorder_token = *recorder_token;
  bo.recorder_tls = recorder_tls;
  bo.max_queue_events = max_queue_events;
  bo.max_block_ms = max_block_ms;
  bo.work_dir = (std::filesystem::path(data_dir) / "work").string();
  bo.job_memory_limit_mb = job_memory_limit_mb;
  bo.max_job_threads = max_job_threads;
  bo.stop_grace_ms = job_stop_grace_s * 1000;
  auto backend = monoroute::trainer::EngineBackend::Create(bo);
  if (!backend.ok()) return Fail(backend.status());
  std::cout << "monoroute-trainer: jobs run in worker processes (memory limit "
            << (*backend)->job_memory_limit_mb()
            << " MiB, threads <= " << (*backend)->max_job_threads()
            << ", retries after a trainer crash " << max_job_retries << ", after a worker death "
            << max_worker_retries << ")" << std::endl;

  auto registry = std::make_shared<prometheus::Registry>();
  monoroute::trainer::JobManagerOptions mo;
  mo.data_dir = data_dir;
  mo.allowed_roots = allowed_roots;
  // Auth is checked by TrainerServiceImpl (common/service BearerAuth), not by the manager.
  mo.default_device = device;
  mo.backend = std::shared_ptr<monoroute::trainer::JobBackend>(std::move(*backend));
  mo.registry = registry.get();
  mo.start_runner = false;
  mo.max_job_retries = max_job_retries;
  mo.max_worker_retries = max_worker_retries;
  mo.worker_retry_backoff_ms = worker_retry_backoff_ms;
  auto manager = monoroute::trainer::JobManager::Create(mo);
  if (!manager.ok()) return Fail(manager.status());
  monoroute::trainer::TrainerServiceImpl service(manager->get(), *auth);

  monoroute::ServerRunnerOptions so;
  so.listen = listen;
  so.metrics_listen = metrics_listen;
  so.service_name = "monoroute.trainer.v1.Trainer";
  so.metrics_prefix = "monoroute_trainer";
  monoroute::ApplyServerFlags(flags, &so);
  so.on_started = [&](int port) {
    std::cout << "monoroute-trainer: listening on port " << port << " (data " << data_dir
              << ", recorder " << (recorder.empty() ? "none" : recorder)
              << (recorder_tls.enabled() ? " over TLS" : "") << ", "
              << monoroute::DescribeTls(so.tls) << ", " << monoroute::BearerAuth(*auth).Describe()
              << ")" << std::endl;
    (*manager)->StartRunner();
  };
  so.on_shutdown = [&] { (*manager)->Shutdown(); };
  absl::Status s = monoroute::RunServer(so, {&service}, registry);
  (*manager)->Shutdown();
  if (!s.ok()) return Fail(s);
  return 0;
}
