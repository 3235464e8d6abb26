// Metrics every monoroute service exposes besides its own, registered by RunServer when
// ServerRunnerOptions::metrics_prefix is set (prefix P, e.g. "monoroute_recorder"):
//   P_build_info{version,grpc,protobuf,compiler,build_type} 1     what is running (gauge)
//   P_rpc_requests_total{method,code}                             finished RPCs (counter)
//   P_rpc_seconds{method}                                         RPC latency (histogram; a
//                                                                 stream's whole duration)
// `method` is "<Service>/<Method>" (e.g. "Recorder/Record", "Health/Check"), `code` the gRPC code
// name ("OK", "NOT_FOUND", ...). Every method of the services named at construction starts with a
// zero series (code "OK"), so dashboards and alerts see the names before the first call.
#ifndef MONOROUTE_COMMON_SERVICE_SERVICE_METRICS_H_
#define MONOROUTE_COMMON_SERVICE_SERVICE_METRICS_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace monoroute {

// Registers P_build_info in `registry` (value 1, labels: this build's versions).
void AddBuildInfo(prometheus::Registry& registry, const std::string& prefix);

// "OK", "CANCELLED", ..., "UNAUTHENTICATED" (absl's names for the same codes).
std::string GrpcCodeName(grpc::StatusCode code);

// "Recorder/Record" from "/monoroute.recorder.v1.Recorder/Record".
std::string ShortMethodName(const std::string& full_method);

// The per-RPC counters and histograms. Thread-safe. Holds references into `registry`, which
// must outlive it (and the servers using its interceptor factory).
class RpcMetrics {
 public:
  // `grpc_services`: full service names ("monoroute.recorder.v1.Recorder") whose methods are
  // created at zero (names unknown to the protobuf descriptor pool are skipped).
  RpcMetrics(prometheus::Registry& registry, const std::string& prefix,
             const std::vector<std::string>& grpc_services);

  // Counts one finished RPC of `full_method` ("/pkg.Service/Method").
  void Observe(const std::string& full_method, grpc::StatusCode code, double seconds);

  // A server interceptor factory that calls Observe for every RPC (for
  // ServerBuilder::experimental().SetInterceptorCreators). `this` must outlive the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeInterceptorFactory();

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& seconds_;
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_SERVICE_METRICS_H_
