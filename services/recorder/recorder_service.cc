// Callback-API gRPC service of the recorder: check auth (common/service BearerAuth) and id sizes,
// convert, call RecorderStore on a worker pool, convert back.
#include "services/recorder/recorder_service.h"

#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/base/status_macros.h"
#include "common/service/grpc_status.h"
#include "common/service/metric_builders.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "services/recorder/batch_validator.h"
#include "services/recorder/disk_guard.h"
#include "services/recorder/event_batch_reader.h"
#include "services/recorder/proto_convert.h"
#include "services/recorder/recorder_store.h"
#include "services/recorder/stream_reactor.h"
#include "services/recorder/worker_pool.h"

namespace monoroute::recorder {

// The recorder's Prometheus metrics (names agreed by the team). Thread-safe.
struct RecorderMetrics {
  explicit RecorderMetrics(prometheus::Registry& r)
      : events(AddCounter(r, "monoroute_recorder_events_ingested_total",
                          "Events applied (duplicates excluded)")),
        batches(AddCounter(r, "monoroute_recorder_batches_ingested_total",
                           "Batches applied (duplicates excluded)")),
        bytes(AddCounter(r, "monoroute_recorder_ingested_bytes_total",
                         "Bytes of RocksDB write batches applied")),
        write_seconds(AddHistogram(r, "monoroute_recorder_batch_write_seconds",
                                   "Validate + encode + durable write time per batch",
                                   prometheus::Histogram::BucketBoundaries{
                                       0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3})),
        duplicates(AddCounter(r, "monoroute_recorder_duplicate_batches_total",
                              "Batches received again and not re-applied")),
        rejected(CounterFamily(r, "monoroute_recorder_rejected_batches_total",
                               "Batches and calls rejected, by reason (status code)")),
        db_size(AddGauge(r, "monoroute_recorder_db_size_bytes", "RocksDB SST files + memtables")),
        pending_compaction(AddGauge(r, "monoroute_recorder_pending_compaction_bytes",
                                    "RocksDB estimated pending compaction bytes")),
        disk_used(AddGauge(r, "monoroute_recorder_disk_used_bytes",
                           "Bytes of the data dir's files (bounded by --max-disk-bytes)")),
        disk_free(AddGauge(r, "monoroute_recorder_disk_free_bytes",
                           "Bytes free on the data dir's device")),
        writes_stopped(
            AddGauge(r, "monoroute_recorder_writes_stopped",
                     "1 while storage is full or failed (writes refused, reads served)")) {
    // Every reason a call can be rejected for exists at zero from the start.
    for (absl::StatusCode c :
         {absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
          absl::StatusCode::kAlreadyExists, absl::StatusCode::kPermissionDenied,
          absl::StatusCode::kResourceExhausted, absl::StatusCode::kFailedPrecondition,
          absl::StatusCode::kUnauthenticated}) {
      rejected.Add({{"reason", absl::AsciiStrToLower(absl::StatusCodeToString(c))}});
    }
  }

  void Reject(absl::StatusCode code) {
    rejected.Add({{"reason", absl::AsciiStrToLower(absl::StatusCodeToString(code))}}).Increment();
  }

  prometheus::Counter& events;
  prometheus::Counter& batches;
  prometheus::Counter& bytes;
  prometheus::Histogram& write_seconds;
  prometheus::Counter& duplicates;
  prometheus::Family<prometheus::Counter>& rejected;
  prometheus::Gauge& db_size;
  prometheus::Gauge& pending_compaction;
  prometheus::Gauge& disk_used;
  prometheus::Gauge& disk_free;
  prometheus::Gauge& writes_stopped;
};

// Trailing metadata key of a Record stream that ended because storage is full or failed: the
// batch was not rejected, the client should send it again later (recorder_client.cc).
inline constexpr char kRetryLaterTrailer[] = "monoroute-retry-later";

namespace {

// Bidi Record stream (a raw method): reads batches' wire bytes ahead (bounded), parses and
// applies them one at a time on the ingest pool, writes acks in order. The first failing batch
// ends the stream with its status after the acks of the batches before it. Deletes itself in
// OnDone.
class RecordReactor : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  RecordReactor(RecorderService* svc, grpc::CallbackServerContext* ctx) : svc_(svc), ctx_(ctx) {
    grpc::Status auth = svc->CheckAuth(ctx, RpcAccess::kWrite);
    if (!auth.ok()) {
      finished_ = true;
      Finish(auth);
      return;
    }
    reading_ = true;
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    bool submit = false, finish = false, read = false;
    grpc::Status st;
    {
      absl::MutexLock l(&mu_);
      reading_ = false;
      if (!ok || failed_) {
        reads_done_ = true;
      } else {
        pending_.emplace_back().Swap(&in_);  // in_ is empty again: the next read target
        if (!processing_) processing_ = submit = true;
        if (pending_.size() < MaxPending()) reading_ = read = true;
      }
      finish = ReadyToFinish(&st);
    }
    if (submit) svc_->ingest_pool()->Submit([this] { Process(); });
    if (read) StartRead(&in_);
    if (finish) Finish(st);
  }

  void OnWriteDone(bool ok) override {
    const grpc::ByteBuffer* next = nullptr;
    bool finish = false;
    grpc::Status st;
    {
      absl::MutexLock l(&mu_);
      acks_.pop_front();
      if (!ok) {  // the client went away
        Fail(grpc::Status(grpc::StatusCode::CANCELLED, "ack write failed: client gone"));
        acks_.clear();
      }
      if (!acks_.empty()) {
        next = &acks_.front();
      } else {
        writing_ = false;
      }
      finish = ReadyToFinish(&st);
    }
    if (next != nullptr) StartWrite(next);
    if (finish) Finish(st);
  }

  void OnDone() override { delete this; }

 private:
  size_t MaxPending() const {
    return static_cast<size_t>(std::max(1, svc_->options().max_pending_batches_per_stream));
  }

  void Fail(grpc::Status st) {
    if (!failed_) status_ = std::move(st);
    failed_ = true;
    pending_.clear();
  }

  // True exactly once, when the stream may finish; sets the status to send.
  bool ReadyToFinish(grpc::Status* st) {
    if (finished_ || processing_ || writing_ || !acks_.empty()) return false;
    if (!failed_ && !(reads_done_ && pending_.empty())) return false;
    finished_ = true;
    *st = status_;
    return true;
  }

  // Runs on the ingest pool: applies ONE pending batch, then queues itself again behind the
  // other streams' tasks while batches remain (round-robin: a stream whose client refills its
  // queue cannot keep a pool thread while others wait). Batches of a stream stay in order: at
  // most one task per stream is queued or running (processing_), which also makes reader_ and
  // contiguous_ this task's alone.
  void Process() {
    grpc::ByteBuffer bytes;
    bool have = false, read = false, finish = false;
    grpc::Status st;
    {
      absl::MutexLock l(&mu_);
      if (pending_.empty() || failed_) {
        processing_ = false;
        finish = ReadyToFinish(&st);
      } else {
        bytes.Swap(&pending_.front());
        pending_.pop_front();
        have = true;
        if (!reading_ && !reads_done_ && pending_.size() < MaxPending()) reading_ = read = true;
      }
    }
    if (!have) {
      if (finish) Finish(st);  // last action: `this` may be deleted right after
      return;
    }
    if (read) StartRead(&in_);
    Apply(bytes);
    bool again = false;
    {
      absl::MutexLock l(&mu_);
      if (!pending_.empty() && !failed_) {
        again = true;
      } else {
        processing_ = false;
        finish = ReadyToFinish(&st);
      }
    }
    if (again) {
      svc_->ingest_pool()->Submit([this] { Process(); });
    } else if (finish) {
      Finish(st);  // last action
    }
  }

  // The message's bytes in one piece: its only slice, or the slices copied into contiguous_
  // (reused, so a stream touches no fresh pages per batch).
  absl::string_view Contiguous(const grpc::ByteBuffer& bytes) {
    slices_.clear();
    if (!bytes.Dump(&slices_).ok() || slices_.empty()) return absl::string_view();
    if (slices_.size() == 1) {
      return absl::string_view(reinterpret_cast<const char*>(slices_[0].begin()),
                               slices_[0].size());
    }
    size_t total = 0;  // of the slices: Length() would be the compressed size
    for (const grpc::Slice& s : slices_) total += s.size();
    char* out = contiguous_.Reserve(total);
    char* p = out;
    for (const grpc::Slice& s : slices_) {
      std::memcpy(p, s.begin(), s.size());
      p += s.size();
    }
    return absl::string_view(out, static_cast<size_t>(p - out));
  }

  // Parses and writes one batch to the store and queues its ack (or fails the stream).
  void Apply(const grpc::ByteBuffer& bytes) {
    auto t0 = std::chrono::steady_clock::now();
    contiguous_.Clear();
    absl::Status parsed = reader_.Parse(Contiguous(bytes));
    absl::StatusOr<WriteResult> r =
        parsed.ok() ? svc_->store()->Write(reader_.view()) : absl::StatusOr<WriteResult>(parsed);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    RecorderMetrics* m = svc_->metrics();
    const grpc::ByteBuffer* to_write = nullptr;
    {
      absl::MutexLock l(&mu_);
      if (r.ok()) {
        m->write_seconds.Observe(secs);
        if (r->duplicate) {
          m->duplicates.Increment();
        } else {
          m->events.Increment(static_cast<double>(r->events));
          m->batches.Increment();
          m->bytes.Increment(static_cast<double>(r->bytes));
        }
        v1::BatchAck ack;
        ack.set_writer_id(reader_.view().header.writer_id);
        ack.set_batch_seq(reader_.view().header.batch_id);
        ack.set_duplicate(r->duplicate);
        ack.set_events(r->events);
        grpc::ByteBuffer& out = acks_.emplace_back();
        bool own = false;
        grpc::SerializationTraits<v1::BatchAck>::Serialize(ack, &out, &own);
        if (!writing_) {
          writing_ = true;
          to_write = &out;
        }
      } else {
        m->Reject(r.status().code());
        if (IsRetryLater(r.status()) && !failed_) {
          ctx_->AddTrailingMetadata(kRetryLaterTrailer, "1");
        }
        Fail(ToGrpcStatus(r.status()));
      }
    }
    if (to_write != nullptr) StartWrite(to_write);
  }

  RecorderService* svc_;
  grpc::CallbackServerContext* ctx_;
  grpc::ByteBuffer in_;  // target of the one outstanding read
  // Used by the one running Process task only (see Process).
  EventBatchReader reader_;
  WireColumn<char> contiguous_;
  std::vector<grpc::Slice> slices_;
  absl::Mutex mu_;
  std::deque<grpc::ByteBuffer> pending_;  // read, not yet applied
  std::deque<grpc::ByteBuffer> acks_;     // serialized BatchAcks; front is being written
  bool reading_ = false, reads_done_ = false, processing_ = false, writing_ = false;
  bool failed_ = false, finished_ = false;
  grpc::Status status_;
};

}  // namespace

RecorderService::RecorderService(const RecorderServiceOptions& options, RecorderStore* store,
                                 std::shared_ptr<prometheus::Registry> registry)
    : options_(options),
      auth_(AuthOptions{options.bearer_token, options.auth_reads}),
      store_(store),
      registry_(std::move(registry)) {}

absl::StatusOr<std::unique_ptr<RecorderService>> RecorderService::Create(
    const RecorderServiceOptions& options, RecorderStore* store,
    std::shared_ptr<prometheus::Registry> registry) {
  if (store == nullptr) return absl::InvalidArgumentError("recorder service: store is null");
  if (registry == nullptr) return absl::InvalidArgumentError("recorder service: registry is null");
  if (options.max_query_events == 0) {
    return absl::InvalidArgumentError("recorder service: max_query_events must be > 0");
  }
  std::unique_ptr<RecorderService> s(new RecorderService(options, store, registry));
  s->metrics_ = std::make_unique<RecorderMetrics>(*registry);
  s->ingest_pool_ = std::make_unique<WorkerPool>(options.ingest_threads);
  s->query_pool_ = std::make_unique<WorkerPool>(options.query_threads);
  s->stream_pool_ = std::make_unique<WorkerPool>(options.stream_threads);
  if (options.gauge_interval.count() > 0) {
    s->gauge_thread_ = std::thread([p = s.get()] { p->GaugeLoop(); });
  }
  return s;
}

RecorderService::~RecorderService() {
  stop_ = true;
  if (gauge_thread_.joinable()) gauge_thread_.join();
  ingest_pool_.reset();
  query_pool_.reset();
  stream_pool_.reset();
}

void RecorderService::GaugeLoop() {
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    if (std::chrono::steady_clock::now() >= next) {
      StoreProperties p = store_->Properties();
      metrics_->db_size.Set(static_cast<double>(p.db_size_bytes));
      metrics_->pending_compaction.Set(static_cast<double>(p.pending_compaction_bytes));
      metrics_->disk_used.Set(static_cast<double>(p.disk_used_bytes));
      metrics_->disk_free.Set(static_cast<double>(p.disk_free_bytes));
      metrics_->writes_stopped.Set(p.writes_stopped ? 1 : 0);
      next = std::chrono::steady_clock::now() + options_.gauge_interval;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

grpc::Status RecorderService::CheckAuth(const grpc::CallbackServerContext* ctx,
                                        RpcAccess access) const {
  absl::Status s = auth_.Check(*ctx, access);
  if (s.ok()) return grpc::Status::OK;
  metrics_->Reject(s.code());
  return ToGrpcStatus(s);
}

namespace {

// INVALID_ARGUMENT (run id quoted bounded) for a run id no run can have: longer than any valid
// one. Keeps huge ids out of the store's NOT_FOUND messages.
absl::Status CheckRunIdArg(const std::string& run_id) {
  if (run_id.size() <= kMaxRunIdBytes) return absl::OkStatus();
  return ValidateRunId(run_id);
}

// Bounds of a query's run id and split selector.
absl::Status CheckQueryArgs(const std::string& run_id, const std::string& split) {
  if (absl::Status id = CheckRunIdArg(run_id); !id.ok()) return id;
  return events::ValidateSplitName(split, "");
}

}  // namespace

grpc::Status RecorderService::CheckCall(const grpc::CallbackServerContext* ctx, RpcAccess access,
                                        const absl::Status& args) const {
  grpc::Status auth = CheckAuth(ctx, access);
  if (!auth.ok() || args.ok()) return auth;
  metrics_->Reject(args.code());
  return ToGrpcStatus(args);
}

grpc::Status RecorderService::CheckReadQuery(const grpc::CallbackServerContext* ctx,
                                             const std::string& run_id,
                                             const std::string& split) const {
  return CheckCall(ctx, RpcAccess::kRead, CheckQueryArgs(run_id, split));
}

grpc::ServerUnaryReactor* RecorderService::RunUnary(grpc::CallbackServerContext* ctx,
                                                    const grpc::Status& check,
                                                    std::function<absl::Status()> work) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  if (!check.ok()) {
    r->Finish(check);
    return r;
  }
  query_pool_->Submit([r, work = std::move(work)] { r->Finish(ToGrpcStatus(work())); });
  return r;
}

grpc::ServerUnaryReactor* RecorderService::RunSummaryCall(
    grpc::CallbackServerContext* ctx, RpcAccess access, const std::string& run_id,
    absl::StatusOr<RunSummaryData> (RecorderStore::*fn)(const std::string&), v1::RunSummary* resp) {
  const grpc::Status check = CheckCall(ctx, access, CheckRunIdArg(run_id));
  return RunUnary(ctx, check, [this, &run_id, fn, resp]() -> absl::Status {
    ASSIGN_OR_RETURN(RunSummaryData s, (store_->*fn)(run_id));
    ToProto(s, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RecorderService::CreateRun(grpc::CallbackServerContext* ctx,
                                                     const v1::RunSpec* req,
                                                     v1::CreateRunResponse* resp) {
  return RunUnary(ctx, CheckAuth(ctx, RpcAccess::kWrite), [this, req, resp]() -> absl::Status {
    ASSIGN_OR_RETURN(bool created, store_->CreateRun(FromProto(*req)));
    resp->set_created(created);
    return absl::OkStatus();
  });
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* RecorderService::Record(
    grpc::CallbackServerContext* ctx) {
  return new RecordReactor(this, ctx);
}

grpc::ServerUnaryReactor* RecorderService::GetRun(grpc::CallbackServerContext* ctx,
                                                  const v1::GetRunRequest* req,
                                                  v1::RunSummary* resp) {
  return RunSummaryCall(ctx, RpcAccess::kRead, req->run_id(), &RecorderStore::GetRun, resp);
}

grpc::ServerUnaryReactor* RecorderService::ListRuns(grpc::CallbackServerContext* ctx,
                                                    const v1::ListRunsRequest* req,
                                                    v1::ListRunsResponse* resp) {
  return RunUnary(ctx, CheckAuth(ctx, RpcAccess::kRead), [this, req, resp]() -> absl::Status {
    ListRunsQueryData q;
    q.page_size = req->page_size();
    q.page_token = req->page_token();
    absl::StatusOr<RunPageData> page = store_->ListRuns(q);
    if (!page.ok()) {
      metrics_->Reject(page.status().code());
      return page.status();
    }
    // A page also ends before its response would exceed list_runs_max_bytes (at least one run).
    for (const RunSummaryData& s : page->runs) {
      if (resp->runs_size() > 0 &&
          resp->ByteSizeLong() >= static_cast<size_t>(options_.list_runs_max_bytes)) {
        resp->set_next_page_token(resp->runs(resp->runs_size() - 1).spec().run_id());
        break;
      }
      ToProto(s, resp->add_runs());
    }
    if (resp->next_page_token().empty()) resp->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::CountsChunk>* RecorderService::GetCounts(
    grpc::CallbackServerContext* ctx, const v1::CountsRequest* req) {
  if (grpc::Status s = CheckReadQuery(ctx, req->run_id(), req->split()); !s.ok()) {
    return BoundedWriteReactor<v1::CountsChunk>::Failed(s);
  }
  CountsQueryData q = FromProto(*req);
  using Reactor = BoundedWriteReactor<v1::CountsChunk>;
  return Reactor::Start(
      stream_pool_.get(), static_cast<size_t>(options_.stream_queue_messages),
      [this, q = std::move(q)](const Reactor::Push& push) -> absl::Status {
        absl::StatusOr<CountsResultData> c = store_->GetCounts(q);
        if (!c.ok()) return c.status();
        // The counts (at most vocab x pathways entries) are in memory; their chunks are built
        // one at a time as the client reads.
        const size_t per = static_cast<size_t>(std::max(1, options_.counts_chunk_entries));
        const size_t n = c->count.size();
        size_t i = 0;
        do {  // at least one chunk: it carries the watermark
          const size_t e = std::min(n, i + per);
          v1::CountsChunk ch;
          ch.mutable_pathway()->Add(c->pathway.begin() + i, c->pathway.begin() + e);
          ch.mutable_token_id()->Add(c->token_id.begin() + i, c->token_id.begin() + e);
          ch.mutable_count()->Add(c->count.begin() + i, c->count.begin() + e);
          ch.set_watermark(c->watermark);
          for (const std::string& sp : c->splits) ch.add_splits(sp);
          if (!push(std::move(ch))) break;  // cancelled
          i = e;
        } while (i < n);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RecorderService::GetTotals(grpc::CallbackServerContext* ctx,
                                                     const v1::TotalsRequest* req,
                                                     v1::TotalsResponse* resp) {
  const grpc::Status check = CheckReadQuery(ctx, req->run_id(), req->split());
  return RunUnary(ctx, check, [this, req, resp]() -> absl::Status {
    ASSIGN_OR_RETURN(TotalsData t, store_->GetTotals(req->run_id(), req->layer(), req->split()));
    ToProto(t, resp);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::EventBatch>* RecorderService::QueryEvents(
    grpc::CallbackServerContext* ctx, const v1::EventQuery* req) {
  using Reactor = BoundedWriteReactor<v1::EventBatch>;
  if (grpc::Status s = CheckReadQuery(ctx, req->run_id(), req->split()); !s.ok()) {
    return Reactor::Failed(s);
  }
  if (req->limit() > options_.max_query_events) {
    metrics_->Reject(absl::StatusCode::kInvalidArgument);
    return Reactor::Failed(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("limit ", req->limit(), " exceeds the server's maximum of ",
                     options_.max_query_events, " events per query (--max-query-events)")));
  }
  EventQueryData q = FromProto(*req);
  // 0: the default, within the server's bound.
  if (q.limit == 0) q.limit = std::min<uint64_t>(kDefaultEventLimit, options_.max_query_events);
  return Reactor::Start(stream_pool_.get(), static_cast<size_t>(options_.stream_queue_messages),
                        [this, q = std::move(q)](const Reactor::Push& push) {
                          return store_->QueryEvents(q, [&push](events::RoutingEventBatch&& b) {
                            v1::EventBatch m;
                            ToProto(b.view(), &m);
                            return push(std::move(m));
                          });
                        });
}

grpc::ServerUnaryReactor* RecorderService::DeleteRun(grpc::CallbackServerContext* ctx,
                                                     const v1::DeleteRunRequest* req,
                                                     v1::DeleteRunResponse* resp) {
  const grpc::Status check = CheckCall(ctx, RpcAccess::kWrite, CheckRunIdArg(req->run_id()));
  return RunUnary(ctx, check, [this, req, resp]() -> absl::Status {
    ASSIGN_OR_RETURN(uint64_t n, store_->DeleteRun(req->run_id()));
    resp->set_events_deleted(n);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RecorderService::FinishRun(grpc::CallbackServerContext* ctx,
                                                     const v1::FinishRunRequest* req,
                                                     v1::RunSummary* resp) {
  return RunSummaryCall(ctx, RpcAccess::kWrite, req->run_id(), &RecorderStore::FinishRun, resp);
}

}  // namespace monoroute::recorder
