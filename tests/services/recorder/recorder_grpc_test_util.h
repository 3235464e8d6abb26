// gRPC helpers of the recorder tests: an in-process recorder (store + service + server on
// 127.0.0.1) that can be stopped and restarted on the same data dir and port, and a synchronous
// Record stream helper.
#ifndef MONOROUTE_TESTS_SERVICES_RECORDER_RECORDER_GRPC_TEST_UTIL_H_
#define MONOROUTE_TESTS_SERVICES_RECORDER_RECORDER_GRPC_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "services/recorder/proto_convert.h"
#include "services/recorder/recorder_service.h"
#include "services/recorder/recorder_store.h"
#include "tests/services/recorder/recorder_test_util.h"

namespace monoroute::recorder::testing {

// TestSpec(run_id, store_raw) as the wire's RunSpec (what CreateRun takes).
inline v1::RunSpec TestSpecProto(const std::string& run_id, bool store_raw = true) {
  v1::RunSpec p;
  ToProto(TestSpec(run_id, store_raw), &p);
  return p;
}

// A recorder store + service + gRPC server on 127.0.0.1, in this process.
class InProcessRecorder {
 public:
  InProcessRecorder(std::string data_dir, RecorderServiceOptions svc_opts = {},
                    RecorderStoreOptions store_opts = {}, int max_message_bytes = 64 << 20)
      : data_dir_(std::move(data_dir)),
        svc_opts_(svc_opts),
        store_opts_(store_opts),
        max_message_bytes_(max_message_bytes) {}
  ~InProcessRecorder() { Stop(); }

  // Starts on `port` (0: any free port). Returns false on failure.
  bool Start(int port = 0) {
    store_opts_.data_dir = data_dir_;
    auto store = RecorderStore::Create(store_opts_);
    if (!store.ok()) return false;
    store_ = std::move(*store);
    registry_ = std::make_shared<prometheus::Registry>();
    auto svc = RecorderService::Create(svc_opts_, store_.get(), registry_);
    if (!svc.ok()) return false;
    service_ = std::move(*svc);
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                       &port_);
    b.SetMaxReceiveMessageSize(max_message_bytes_);
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    return server_ != nullptr && port_ != 0;
  }

  void Stop() {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      server_->Wait();
      server_.reset();
    }
    service_.reset();
    if (store_ != nullptr) {
      (void)store_->Close();
      store_.reset();
    }
  }

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  RecorderStore* store() { return store_.get(); }
  prometheus::Registry& registry() { return *registry_; }
  std::unique_ptr<v1::Recorder::Stub> NewStub() const {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    args.SetMaxReceiveMessageSize(-1);
    return v1::Recorder::NewStub(
        grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args));
  }

 private:
  std::string data_dir_;
  RecorderServiceOptions svc_opts_;
  RecorderStoreOptions store_opts_;
  int max_message_bytes_;
  int port_ = 0;
  std::unique_ptr<RecorderStore> store_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<RecorderService> service_;
  std::unique_ptr<grpc::Server> server_;
};

// Result of one Record stream.
struct StreamResult {
  std::vector<v1::BatchAck> acks;
  grpc::Status status;
};

// Sends `batches` on one Record stream, half-closes, reads every ack, returns them + status.
inline StreamResult SendBatches(v1::Recorder::Stub* stub,
                                const std::vector<events::RoutingEventBatch>& batches,
                                const std::string& token = "") {
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  auto stream = stub->Record(&ctx);
  StreamResult r;
  std::thread reader([&] {
    v1::BatchAck ack;
    while (stream->Read(&ack)) r.acks.push_back(ack);
  });
  for (const events::RoutingEventBatch& b : batches) {
    v1::EventBatch m;
    ToProto(b.view(), &m);
    if (!stream->Write(m)) break;
  }
  stream->WritesDone();
  reader.join();
  r.status = stream->Finish();
  return r;
}

// Value of the counter/gauge `name` (with `label`=`value` when given) in `registry`, or -1.
inline double MetricValue(prometheus::Registry& registry, const std::string& name,
                          const std::string& label = "", const std::string& value = "") {
  for (const auto& fam : registry.Collect()) {
    if (fam.name != name) continue;
    for (const auto& m : fam.metric) {
      bool match = label.empty();
      for (const auto& l : m.label) match |= l.name == label && l.value == value;
      if (!match) continue;
      if (fam.type == prometheus::MetricType::Counter) return m.counter.value;
      if (fam.type == prometheus::MetricType::Gauge) return m.gauge.value;
      if (fam.type == prometheus::MetricType::Histogram) {
        return static_cast<double>(m.histogram.sample_count);
      }
    }
  }
  return -1;
}

}  // namespace monoroute::recorder::testing

#endif  // MONOROUTE_TESTS_SERVICES_RECORDER_RECORDER_GRPC_TEST_UTIL_H_
