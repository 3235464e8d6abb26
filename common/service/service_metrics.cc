// Build info and per-RPC metrics of every service (see service_metrics.h).
#include "common/service/service_metrics.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/common.h>
#include <grpcpp/support/interceptor.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/base/build_info.h"
#include "prometheus/gauge.h"


namespace monoroute {
namespace {

// Observes one RPC: start at construction, code at PRE_SEND_STATUS (CANCELLED when the RPC ends
// without a status, e.g. the client went away).
class RpcInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcInterceptor(RpcMetrics* metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)), start_(std::chrono::steady_clock::now()) {}
  ~RpcInterceptor() override {
    if (!observed_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    observed_ = true;
    metrics_->Observe(
        method_, code,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  RpcMetrics* metrics_;
  std::string method_;
  std::chrono::steady_clock::time_point start_;
  bool observed_ = false;
};

class RpcInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcInterceptorFactory(RpcMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcInterceptor(metrics_, info->method() != nullptr ? info->method() : "");
  }

 private:
  RpcMetrics* metrics_;
};

const prometheus::Histogram::BucketBoundaries& Buckets() {
  static const auto* b = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  return *b;
}

}  // namespace

void AddBuildInfo(prometheus::Registry& registry, const std::string& prefix) {
  prometheus::BuildGauge()
      .Name(prefix + "_build_info")
      .Help("Build of the running binary (value 1)")
      .Register(registry)
      .Add({{"version", BuildVersion()},
            {"grpc", grpc::Version()},
            {"protobuf", google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION)},
            {"compiler", BuildCompiler()},
            {"build_type", BuildType()}})
      .Set(1);
}

std::string GrpcCodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int c = static_cast<int>(code);
  return c >= 0 && c < 17 ? kNames[c] : absl::StrCat("CODE_", c);
}

std::string ShortMethodName(const std::string& full_method) {
  const size_t slash = full_method.rfind('/');
  if (slash == std::string::npos || slash == 0) return full_method;
  const std::string service =
      full_method.substr(full_method[0] == '/' ? 1 : 0, slash - (full_method[0] == '/' ? 1 : 0));
  const size_t dot = service.rfind('.');
  return absl::StrCat(dot == std::string::npos ? service : service.substr(dot + 1), "/",
                      full_method.substr(slash + 1));
}

RpcMetrics::RpcMetrics(prometheus::Registry& registry, const std::string& prefix,
                       const std::vector<std::string>& grpc_services)
    : requests_(prometheus::BuildCounter()
                    .Name(prefix + "_rpc_requests_total")
                    .Help("Finished RPCs by method and gRPC status code")
                    .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name(prefix + "_rpc_seconds")
                   .Help("RPC latency by method (streams: their whole duration)")
                   .Register(registry)) {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& name : grpc_services) {
    const google::protobuf::ServiceDescriptor* svc = pool->FindServiceByName(name);
    if (svc == nullptr) continue;
    for (int i = 0; i < svc->method_count(); ++i) {
      const std::string method = absl::StrCat(svc->name(), "/", svc->method(i)->name());
      requests_.Add({{"method", method}, {"code", "OK"}});
      seconds_.Add({{"method", method}}, Buckets());
    }
  }
}

void RpcMetrics::Observe(const std::string& full_method, grpc::StatusCode code, double seconds) {
  const std::string method = ShortMethodName(full_method);
  requests_.Add({{"method", method}, {"code", GrpcCodeName(code)}}).Increment();
  seconds_.Add({{"method", method}}, Buckets()).Observe(seconds);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::MakeInterceptorFactory() {
  return std::make_unique<RpcInterceptorFactory>(this);
}

}  // namespace monoroute
