// gRPC server lifecycle: build, health + reflection, metrics exposer, graceful SIGTERM shutdown.
#include "common/service/server_runner.h"

#include <dlfcn.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"
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

absl::Status RunServer(const ServerRunnerOptions& options,
                       const std::vector<grpc::Service*>& services,
                       std::shared_ptr<prometheus::Registry> registry) {
  InstallShutdownSignalHandlers();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<prometheus::Exposer> exposer;
  if (!options.metrics_listen.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(options.metrics_listen);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("--metrics-listen ", options.metrics_listen, ": cannot bind: ", e.what()));
    }
    exposer->RegisterCollectable(registry);
  }

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  for (grpc::Service* s : services) builder.RegisterService(s);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("--listen ", options.listen, ": cannot bind"));
  }
  auto* health = server->GetHealthCheckService();
  if (health != nullptr && !options.service_name.empty()) {
    health->SetServingStatus(options.service_name, true);
  }
  if (options.on_started) options.on_started(port);

  WaitForShutdownSignal();
  if (health != nullptr) health->Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + options.shutdown_grace);
  server->Wait();
  if (options.on_shutdown) options.on_shutdown();
  return absl::OkStatus();
}

}  // namespace monoroute
