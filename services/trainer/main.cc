// monoroute-trainer: the training-job service (flags only; see job_manager.h, trainer_service.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "common/base/file_util.h"
#include "common/service/server_runner.h"
#include "prometheus/registry.h"
#include "services/trainer/engine_backend.h"
#include "services/trainer/job_manager.h"
#include "services/trainer/trainer_service.h"

namespace {

// Reads a token file (surrounding whitespace stripped); empty path -> empty token.
absl::StatusOr<std::string> ReadToken(const std::string& flag, const std::string& path) {
  if (path.empty()) return std::string();
  auto text = monoroute::ReadFile(path);
  if (!text.ok())
    return absl::InvalidArgumentError(flag + ": " + std::string(text.status().message()));
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) return absl::InvalidArgumentError(flag + ": " + path + " is empty");
  return token;
}

int Fail(const absl::Status& s) {
  std::cerr << "monoroute-trainer: " << s.message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"monoroute-trainer: runs training jobs (monoroute.trainer.v1)"};
  std::string listen = "127.0.0.1:7103", data_dir, recorder, metrics_listen = "127.0.0.1:9103";
  std::string device = "cpu", auth_token_file, recorder_token_file;
  std::vector<std::string> allowed_roots;
  size_t max_queue_events = size_t{1} << 21;
  int64_t max_block_ms = 200;
  app.add_option("--listen", listen, "gRPC address host:port")->capture_default_str();
  app.add_option("--data-dir", data_dir, "Job store and default job outputs")->required();
  app.add_option("--recorder", recorder, "Recorder address (empty: events are not recorded)");
  app.add_option("--metrics-listen", metrics_listen, "Prometheus /metrics address (empty: off)")
      ->capture_default_str();
  app.add_option("--device", device, "Device of jobs whose spec names none")->capture_default_str();
  app.add_option("--allowed-root", allowed_roots,
                 "Spec paths must lie under one of these (repeatable; default: --data-dir)");
  app.add_option("--auth-token-file", auth_token_file, "Bearer token required by Submit/Cancel");
  app.add_option("--recorder-token-file", recorder_token_file, "Bearer token for the recorder");
  app.add_option("--max-queue-events", max_queue_events, "Recorder upload queue bound (events)")
      ->capture_default_str();
  app.add_option("--max-block-ms", max_block_ms,
                 "Longest a step waits for upload queue space before dropping (counted)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto token = ReadToken("--auth-token-file", auth_token_file);
  if (!token.ok()) return Fail(token.status());
  auto recorder_token = ReadToken("--recorder-token-file", recorder_token_file);
  if (!recorder_token.ok()) return Fail(recorder_token.status());
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  data_dir = std::filesystem::absolute(data_dir).lexically_normal().string();
  if (allowed_roots.empty()) allowed_roots.push_back(data_dir);
  for (auto& r : allowed_roots) r = std::filesystem::absolute(r).lexically_normal().string();

  monoroute::trainer::EngineBackendOptions bo;
  bo.recorder_address = recorder;
  bo.recorder_token = *recorder_token;
  bo.max_queue_events = max_queue_events;
  bo.max_block_ms = max_block_ms;
  auto backend = monoroute::trainer::EngineBackend::Create(bo);
  if (!backend.ok()) return Fail(backend.status());

  auto registry = std::make_shared<prometheus::Registry>();
  monoroute::trainer::JobManagerOptions mo;
  mo.data_dir = data_dir;
  mo.allowed_roots = allowed_roots;
  mo.auth_token = *token;
  mo.default_device = device;
  mo.backend = std::shared_ptr<monoroute::trainer::JobBackend>(std::move(*backend));
  mo.registry = registry.get();
  mo.start_runner = false;
  auto manager = monoroute::trainer::JobManager::Create(mo);
  if (!manager.ok()) return Fail(manager.status());
  monoroute::trainer::TrainerServiceImpl service(manager->get());

  monoroute::ServerRunnerOptions so;
  so.listen = listen;
  so.metrics_listen = metrics_listen;
  so.service_name = "monoroute.trainer.v1.Trainer";
  so.on_started = [&](int port) {
    std::cout << "monoroute-trainer: listening on port " << port << " (data " << data_dir
              << ", recorder " << (recorder.empty() ? "none" : recorder) << ")" << std::endl;
    (*manager)->StartRunner();
  };
  so.on_shutdown = [&] { (*manager)->Shutdown(); };
  absl::Status s = monoroute::RunServer(so, {&service}, registry);
  (*manager)->Shutdown();
  if (!s.ok()) return Fail(s);
  return 0;
}
