// gRPC server lifecycle: credentials (plaintext, TLS or mutual TLS), message limits, health
// (readiness probe, liveness name, plaintext health-only port) + reflection, metrics exposer with
// build-info, per-RPC and process metrics, graceful SIGTERM shutdown.
#include "common/service/server_runner.h"

#include <dlfcn.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/service/health_check.h"
#include "common/service/process_metrics.h"
#include "common/service/service_metrics.h"
#include "prometheus/exposer.h"

// prometheus-cpp's HTTP server (civetweb) starts its threads with 100 KiB stacks. In a process
// that also loads LibTorch (~290 shared libraries), the static TLS alone exceeds that, so
// pthread_create fails with EINVAL and the Exposer reports "null context when constructing
// CivetServer". This interposes pthread_attr_setstacksize for the whole process and raises any
// request below 8 MiB (glibc's default) to 8 MiB; larger requests pass through unchanged.
extern "C" int pthread_attr_setstacksize(pthread_attr_t* attr, size_t size) {
  using Fn = int (*)(pthread_attr_t*, size_t);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "pthread_attr_setstacksize"));
  constexpr size_t kMinStack = size_t{8} << 20;
  return real(attr, size < kMinStack ? kMinStack : size);
}

namespace monoroute {
namespace {

sem_t g_shutdown_sem;
bool g_sem_ready = false;

void OnSignal(int) { sem_post(&g_shutdown_sem); }  // async-signal-safe

}  // namespace

void InstallShutdownSignalHandlers() {
  if (!g_sem_ready) {
    sem_init(&g_shutdown_sem, 0, 0);
    g_sem_ready = true;
  }
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void WaitForShutdownSignal() {
  while (sem_wait(&g_shutdown_sem) != 0 && errno == EINTR) {
  }
}

void RequestShutdown() { sem_post(&g_shutdown_sem); }

namespace {

// The host part of "host:port" (for the startup lines).
std::string HostOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

// Readiness of the servers' health services, set by the probe thread; the liveness name is always
// SERVING. Thread-safe.
class HealthState {
 public:
  HealthState(std::vector<grpc::HealthCheckServiceInterface*> services, std::string service_name)
      : services_(std::move(services)), name_(std::move(service_name)) {
    for (auto* h : services_) h->SetServingStatus(kLivenessServiceName, true);
  }
  void Set(const absl::Status& probe) {
    std::lock_guard<std::mutex> lock(mu_);
    const bool serving = probe.ok();
    for (auto* h : services_) {
      h->SetServingStatus("", serving);
      if (!name_.empty()) h->SetServingStatus(name_, serving);
    }
    if (!first_ && serving == serving_) return;
    if (!first_ || !serving) {
      std::printf("health: %s%s%s\n", serving ? "SERVING" : "NOT_SERVING", serving ? "" : ": ",
                  serving ? "" : std::string(probe.message()).c_str());
      std::fflush(stdout);
    }
    first_ = false;
    serving_ = serving;
  }
  // Sets the status of a further name (ServerRunnerOptions::named_health_probes).
  void SetNamed(const std::string& name, const absl::Status& probe) {
    std::lock_guard<std::mutex> lock(mu_);
    const bool serving = probe.ok();
    for (auto* h : services_) h->SetServingStatus(name, serving);
    auto [it, inserted] = named_.emplace(name, serving);
    if (!inserted && it->second == serving) return;
    it->second = serving;
    if (inserted && serving) return;
    std::printf("health %s: %s%s%s\n", name.c_str(), serving ? "SERVING" : "NOT_SERVING",
                serving ? "" : ": ", serving ? "" : std::string(probe.message()).c_str());
    std::fflush(stdout);
  }

 private:
  std::map<std::string, bool> named_;
  std::mutex mu_;
  std::vector<grpc::HealthCheckServiceInterface*> services_;
  std::string name_;
  bool first_ = true;
  bool serving_ = true;
};

// Runs the health probes of `options` once, recording their results in `health`.
void ProbeHealth(const ServerRunnerOptions& options, HealthState* health) {
  if (options.health_probe) health->Set(options.health_probe());
  for (const auto& [name, probe] : options.named_health_probes) health->SetNamed(name, probe());
}

// Runs ProbeHealth every health_probe_interval on a thread of its own (none when `options` has
// no probe) until Stop or destruction. `options` and `health` outlive it.
class HealthProber {
 public:
  HealthProber(const ServerRunnerOptions& options, HealthState* health) {
    if (!options.health_probe && options.named_health_probes.empty()) return;
    thread_ = std::thread([this, &options, health] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!cv_.wait_for(lock, options.health_probe_interval, [this] { return stopping_; })) {
        lock.unlock();
        ProbeHealth(options, health);
        lock.lock();
      }
    });
  }
  ~HealthProber() { Stop(); }

  // Ends the probing thread (waits for a probe under way).
  void Stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// The metrics exposer on `listen` serving `registry` and `process` (either may be null); null when
// `listen` is empty, UNAVAILABLE when it cannot bind.
absl::StatusOr<std::unique_ptr<prometheus::Exposer>> StartExposer(
    const std::string& listen, const std::shared_ptr<prometheus::Registry>& registry,
    const std::shared_ptr<ProcessCollector>& process) {
  if (listen.empty()) return nullptr;
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(listen);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("--metrics-listen ", listen, ": cannot bind: ", e.what()));
  }
  if (registry != nullptr) exposer->RegisterCollectable(registry);
  if (process != nullptr) exposer->RegisterCollectable(process);
  return exposer;
}

}  // namespace

absl::Status RunServer(const ServerRunnerOptions& options,
                       const std::vector<grpc::Service*>& services,
                       std::shared_ptr<prometheus::Registry> registry) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
      ServerCredentialsFromOptions(options.tls);
  if (!creds.ok()) return creds.status();
  InstallShutdownSignalHandlers();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<RpcMetrics> rpc_metrics;
  std::shared_ptr<ProcessCollector> process_metrics;
  if (!options.metrics_prefix.empty() && registry != nullptr) {
    AddBuildInfo(*registry, options.metrics_prefix);
    std::vector<std::string> grpc_services = {"grpc.health.v1.Health"};
    if (!options.service_name.empty()) grpc_services.push_back(options.service_name);
    rpc_metrics = std::make_unique<RpcMetrics>(*registry, options.metrics_prefix, grpc_services);
    process_metrics = std::make_shared<ProcessCollector>();
  }

  absl::StatusOr<std::unique_ptr<prometheus::Exposer>> exposer =
      StartExposer(options.metrics_listen, registry, process_metrics);
  if (!exposer.ok()) return exposer.status();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, *creds, &port);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(options.max_send_message_bytes);
  for (grpc::Service* s : services) builder.RegisterService(s);
  if (rpc_metrics != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(rpc_metrics->MakeInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("--listen ", options.listen, ": cannot bind"));
  }
  std::unique_ptr<grpc::Server> health_server;
  int health_port = 0;
  if (!options.health_listen.empty()) {
    grpc::ServerBuilder hb;
    hb.AddListeningPort(options.health_listen, grpc::InsecureServerCredentials(), &health_port);
    health_server = hb.BuildAndStart();
    if (health_server == nullptr || health_port == 0) {
      server->Shutdown();
      return absl::UnavailableError(
          absl::StrCat("--health-listen ", options.health_listen, ": cannot bind"));
    }
  }
  std::vector<grpc::HealthCheckServiceInterface*> healths;
  for (grpc::Server* s : {server.get(), health_server.get()}) {
    if (s != nullptr && s->GetHealthCheckService() != nullptr) {
      healths.push_back(s->GetHealthCheckService());
    }
  }
  HealthState health(healths, options.service_name);
  if (!options.health_probe) health.Set(absl::OkStatus());
  ProbeHealth(options, &health);
  HealthProber prober(options, &health);
  if (*exposer != nullptr) {
    const std::vector<int> ports = (*exposer)->GetListeningPorts();
    std::printf("metrics on %s:%d\n", HostOf(options.metrics_listen).c_str(),
                ports.empty() ? 0 : ports[0]);
  }
  if (health_server != nullptr) {
    std::printf("health on %s:%d (plaintext, grpc.health.v1 only)\n",
                HostOf(options.health_listen).c_str(), health_port);
  }
  std::fflush(stdout);
  if (options.on_started) options.on_started(port);

  WaitForShutdownSignal();
  prober.Stop();
  for (auto* h : healths) h->Shutdown();
  const auto deadline = std::chrono::system_clock::now() + options.shutdown_grace;
  server->Shutdown(deadline);
  if (health_server != nullptr) health_server->Shutdown(deadline);
  server->Wait();
  if (health_server != nullptr) health_server->Wait();
  if (options.on_shutdown) options.on_shutdown();
  return absl::OkStatus();
}

}  // namespace monoroute
