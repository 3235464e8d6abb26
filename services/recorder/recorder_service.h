// The recorder's gRPC service (callback API): a thin layer that converts wire messages to the
// core's structs, calls RecorderStore on a worker pool (never inside a gRPC reaction), and
// converts back. One reactor per streaming RPC; Record acks batches in order once durable;
// QueryEvents and GetCounts stream with flow control (BoundedWriteReactor, stream_reactor.h).
#ifndef MONOROUTE_SERVICES_RECORDER_RECORDER_SERVICE_H_
#define MONOROUTE_SERVICES_RECORDER_RECORDER_SERVICE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/service/auth.h"
#include "monoroute/recorder/v1/recorder.grpc.pb.h"
#include "prometheus/registry.h"

namespace monoroute::recorder {

class RecorderStore;
struct RunSummaryData;
class WorkerPool;
struct RecorderMetrics;

// Health name that is NOT_SERVING while the store cannot write (storage full or failed) while
// reads are served and the overall status stays SERVING (main.cc registers it).
inline constexpr char kWriteHealthName[] = "monoroute.recorder.v1.Recorder.write";

struct RecorderServiceOptions {
  // When not empty, CreateRun/Record/DeleteRun/FinishRun need "authorization: Bearer <token>"
  // (checked by common/service's BearerAuth: strict parsing, constant-time comparison).
  std::string bearer_token;
  // With a token: GetRun/ListRuns/GetCounts/GetTotals/QueryEvents need it too (--auth-reads).
  bool auth_reads = false;
  // Threads applying Record batches to the store (batches of one stream stay in order).
  int ingest_threads = 2;
  // Threads running unary calls.
  int query_threads = 2;
  // Threads producing QueryEvents/GetCounts streams. A producer holds its thread while its
  // client is slow (it blocks on the full queue), so this bounds concurrently served streams;
  // further streams wait for a thread. Separate from query_threads so that slow stream readers
  // never delay unary calls.
  int stream_threads = 8;
  // Messages buffered per streamed query (including the one being written).
  int stream_queue_messages = 8;
  // Largest EventQuery.limit accepted (INVALID_ARGUMENT beyond); limit 0 means
  // kDefaultEventLimit.
  uint64_t max_query_events = 100'000'000;
  // Batches read ahead of the one being written, per Record stream.
  int max_pending_batches_per_stream = 8;
  // A ListRuns page ends once its response holds this many bytes (at least one run).
  int64_t list_runs_max_bytes = 4 << 20;
  // Counts entries per streamed CountsChunk.
  int counts_chunk_entries = 65536;
  // How often the db size / pending compaction gauges are refreshed (0: never).
  std::chrono::milliseconds gauge_interval{1000};
};

// v1::Recorder::CallbackService with Record as a raw method: the stream's batches arrive as wire
// bytes that the recorder parses itself (EventBatchReader), not as generated messages.
using RecorderCallbackBase = v1::Recorder::WithCallbackMethod_CreateRun<
    v1::Recorder::WithRawCallbackMethod_Record<v1::Recorder::WithCallbackMethod_GetRun<
        v1::Recorder::WithCallbackMethod_ListRuns<v1::Recorder::WithCallbackMethod_GetCounts<
            v1::Recorder::WithCallbackMethod_GetTotals<v1::Recorder::WithCallbackMethod_QueryEvents<
                v1::Recorder::WithCallbackMethod_DeleteRun<
                    v1::Recorder::WithCallbackMethod_FinishRun<v1::Recorder::Service>>>>>>>>>;

// Thread-safe (gRPC calls it from many threads). `store` is not owned and must outlive the
// service; metrics are registered in `registry`.
class RecorderService final : public RecorderCallbackBase {
 public:
  static absl::StatusOr<std::unique_ptr<RecorderService>> Create(
      const RecorderServiceOptions& options, RecorderStore* store,
      std::shared_ptr<prometheus::Registry> registry);
  ~RecorderService() override;

  grpc::ServerUnaryReactor* CreateRun(grpc::CallbackServerContext* ctx, const v1::RunSpec* req,
                                      v1::CreateRunResponse* resp) override;
  // Reads EventBatch wire bytes, writes BatchAck wire bytes (a raw method, see above).
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Record(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* GetRun(grpc::CallbackServerContext* ctx, const v1::GetRunRequest* req,
                                   v1::RunSummary* resp) override;
  grpc::ServerUnaryReactor* ListRuns(grpc::CallbackServerContext* ctx,
                                     const v1::ListRunsRequest* req,
                                     v1::ListRunsResponse* resp) override;
  grpc::ServerWriteReactor<v1::CountsChunk>* GetCounts(grpc::CallbackServerContext* ctx,
                                                       const v1::CountsRequest* req) override;
  grpc::ServerUnaryReactor* GetTotals(grpc::CallbackServerContext* ctx,
                                      const v1::TotalsRequest* req,
                                      v1::TotalsResponse* resp) override;
  grpc::ServerWriteReactor<v1::EventBatch>* QueryEvents(grpc::CallbackServerContext* ctx,
                                                        const v1::EventQuery* req) override;
  grpc::ServerUnaryReactor* DeleteRun(grpc::CallbackServerContext* ctx,
                                      const v1::DeleteRunRequest* req,
                                      v1::DeleteRunResponse* resp) override;
  grpc::ServerUnaryReactor* FinishRun(grpc::CallbackServerContext* ctx,
                                      const v1::FinishRunRequest* req,
                                      v1::RunSummary* resp) override;

  // Internals shared with the reactors (recorder_service.cc).
  RecorderStore* store() { return store_; }
  WorkerPool* ingest_pool() { return ingest_pool_.get(); }
  RecorderMetrics* metrics() { return metrics_.get(); }
  const RecorderServiceOptions& options() const { return options_; }
  // OK, or UNAUTHENTICATED (counted as a rejected call) when a token is configured, `access`
  // needs it and `ctx` does not carry it.
  grpc::Status CheckAuth(const grpc::CallbackServerContext* ctx, RpcAccess access) const;

 private:
  RecorderService(const RecorderServiceOptions& options, RecorderStore* store,
                  std::shared_ptr<prometheus::Registry> registry);
  void GaugeLoop();
  // OK when `ctx` may make a call of `access` and `args` (the check of the call's arguments) is
  // OK; else the status to end the call with (counted as a rejected call).
  grpc::Status CheckCall(const grpc::CallbackServerContext* ctx, RpcAccess access,
                         const absl::Status& args) const;
  // CheckCall for a query (GetCounts, GetTotals, QueryEvents): read access and the bounds of its
  // `run_id` and `split` arguments.
  grpc::Status CheckReadQuery(const grpc::CallbackServerContext* ctx, const std::string& run_id,
                              const std::string& split) const;
  // A unary RPC: ends with `check` when that failed (see CheckCall), else runs `work` on the
  // query pool and finishes with work's status.
  grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, const grpc::Status& check,
                                     std::function<absl::Status()> work);
  // GetRun / FinishRun: `access` and the `run_id` argument checked, then the store's `fn` on the
  // query pool, its summary into `resp`.
  grpc::ServerUnaryReactor* RunSummaryCall(
      grpc::CallbackServerContext* ctx, RpcAccess access, const std::string& run_id,
      absl::StatusOr<RunSummaryData> (RecorderStore::*fn)(const std::string&),
      v1::RunSummary* resp);

  const RecorderServiceOptions options_;
  const BearerAuth auth_;
  RecorderStore* store_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<RecorderMetrics> metrics_;
  std::unique_ptr<WorkerPool> ingest_pool_;
  std::unique_ptr<WorkerPool> query_pool_;
  std::unique_ptr<WorkerPool> stream_pool_;
  std::atomic<bool> stop_{false};
  std::thread gauge_thread_;
};

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_RECORDER_SERVICE_H_
