// Trainer gRPC adapter.
#include "services/trainer/trainer_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <deque>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/bounded_text.h"
#include "common/engine/progress_fields.h"
#include "common/service/grpc_status.h"
#include "common/service/proto_fields.h"
#include "services/trainer/log_stream.h"

namespace monoroute::trainer {

template <typename T>
void SetFields(const T& value, google::protobuf::Message* out);

namespace {

// Longest job id looked up; longer ids are INVALID_ARGUMENT (quoted bounded), never echoed whole.
constexpr size_t kMaxJobIdBytes = 128;

absl::Status CheckJobIdArg(const std::string& id) {
  if (id.size() <= kMaxJobIdBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("id '", BoundedText(id), "' is longer than ", kMaxJobIdBytes, " bytes"));
}

// A WatchJob call refused before it started.
class FailedWatch : public grpc::ServerWriteReactor<v1::JobUpdate> {
 public:
  explicit FailedWatch(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const absl::Status& s) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(ToGrpcStatus(s));
  return r;
}

// Streams a job's updates. Updates arrive from the manager on any thread and are queued (a step
// update replaces a queued step update, so a slow client sees the latest progress, not a backlog);
// one write is in flight at a time; the stream ends after a terminal state was written.
class WatchReactor : public grpc::ServerWriteReactor<v1::JobUpdate> {
 public:
  struct State {
    std::mutex mu;
    WatchReactor* reactor = nullptr;  // null once OnDone ran
    std::deque<v1::JobUpdate> pending;
    v1::JobUpdate current;
    bool writing = false;
    bool finished = false;
    bool saw_terminal = false;
    bool cancelled = false;

    void Push(JobUpdateKind kind, const JobRecord& job) {
      std::lock_guard<std::mutex> l(mu);
      if (reactor == nullptr || finished || saw_terminal) return;
      v1::JobUpdate u;
      u.set_kind(static_cast<v1::JobUpdate::Kind>(kind));
      JobToProto(job, u.mutable_job());
      if (kind == JobUpdateKind::kStep && !pending.empty() &&
          pending.back().kind() == v1::JobUpdate::STEP) {
        pending.back() = std::move(u);
      } else {
        pending.push_back(std::move(u));
      }
      if (IsTerminal(job.state)) saw_terminal = true;
      PumpLocked();
    }

    void WriteDone(bool ok) {
      std::lock_guard<std::mutex> l(mu);
      writing = false;
      if (!ok) cancelled = true;
      PumpLocked();
    }

    void Cancel() {
      std::lock_guard<std::mutex> l(mu);
      cancelled = true;
      PumpLocked();
    }

    void PumpLocked() {
      if (reactor == nullptr || finished || writing) return;
      if (cancelled) {
        finished = true;
        reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
        return;
      }
      if (pending.empty()) {
        if (saw_terminal) {
          finished = true;
          reactor->Finish(grpc::Status::OK);
        }
        return;
      }
      current = std::move(pending.front());
      pending.pop_front();
      writing = true;
      reactor->StartWrite(&current);
    }
  };

  WatchReactor(JobManager* manager, const std::string& id)
      : manager_(manager), state_(std::make_shared<State>()) {
    state_->reactor = this;
    std::shared_ptr<State> st = state_;
    auto sub = manager_->Subscribe(
        id, [st](JobUpdateKind kind, const JobRecord& job) { st->Push(kind, job); });
    if (!sub.ok()) {
      std::lock_guard<std::mutex> l(state_->mu);
      state_->finished = true;
      Finish(ToGrpcStatus(sub.status()));
      return;
    }
    handle_ = sub->first;
    state_->Push(JobUpdateKind::kSnapshot, sub->second);
  }

  void OnWriteDone(bool ok) override { state_->WriteDone(ok); }
  void OnCancel() override { state_->Cancel(); }
  void OnDone() override {
    if (handle_.has_value()) manager_->Unsubscribe(*handle_);
    {
      std::lock_guard<std::mutex> l(state_->mu);
      state_->reactor = nullptr;
    }
    delete this;
  }

 private:
  JobManager* manager_;
  std::shared_ptr<State> state_;
  std::optional<uint64_t> handle_;
};

}  // namespace

// Sets the proto fields named as the visited fields of `value` (common/engine/progress_fields.h,
// services/recorder/upload_counters.h), by reflection: the field list is written once. A name
// the message lacks is skipped (the service test checks that every name is in the proto).
template <typename T>
void SetFields(const T& value, google::protobuf::Message* out) {
  ProtoFieldWriter w(out);
  VisitFields(value, w);
}

void JobToProto(const JobRecord& j, v1::Job* out) {
  ProtoFieldWriter w(out);
  VisitJobFields(j, w);  // `seq` and `stopped_by_shutdown` are the store's, not in the proto
}

grpc::ServerUnaryReactor* TrainerServiceImpl::SubmitJob(grpc::CallbackServerContext* ctx,
                                                        const v1::SubmitJobRequest* req,
                                                        v1::SubmitJobResponse* resp) {
  if (absl::Status a = auth_.Check(*ctx, RpcAccess::kWrite); !a.ok()) return Done(ctx, a);
  SubmitRequest sr;
  sr.spec_yaml = req->spec_yaml();
  sr.overrides.assign(req->overrides().begin(), req->overrides().end());
  sr.name = req->name();
  absl::StatusOr<JobRecord> job = manager_->Submit(sr);
  if (job.ok()) JobToProto(*job, resp->mutable_job());
  return Done(ctx, job.status());
}

grpc::ServerUnaryReactor* TrainerServiceImpl::GetJob(grpc::CallbackServerContext* ctx,
                                                     const v1::GetJobRequest* req, v1::Job* resp) {
  if (absl::Status a = auth_.Check(*ctx, RpcAccess::kRead); !a.ok()) return Done(ctx, a);
  if (absl::Status id = CheckJobIdArg(req->id()); !id.ok()) return Done(ctx, id);
  absl::StatusOr<JobRecord> job = manager_->Get(req->id());
  if (job.ok()) JobToProto(*job, resp);
  return Done(ctx, job.status());
}

grpc::ServerUnaryReactor* TrainerServiceImpl::ListJobs(grpc::CallbackServerContext* ctx,
                                                       const v1::ListJobsRequest* req,
                                                       v1::ListJobsResponse* resp) {
  if (absl::Status a = auth_.Check(*ctx, RpcAccess::kRead); !a.ok()) return Done(ctx, a);
  std::optional<JobState> filter;
  if (req->state() != v1::JOB_STATE_UNSPECIFIED) {
    if (!v1::JobState_IsValid(req->state())) {
      return Done(ctx, absl::InvalidArgumentError("state: unknown job state"));
    }
    filter = static_cast<JobState>(req->state());
  }
  for (const JobRecord& j : manager_->List(filter)) JobToProto(j, resp->add_jobs());
  return Done(ctx, absl::OkStatus());
}

grpc::ServerWriteReactor<v1::JobUpdate>* TrainerServiceImpl::WatchJob(
    grpc::CallbackServerContext* ctx, const v1::WatchJobRequest* req) {
  if (absl::Status a = auth_.Check(*ctx, RpcAccess::kRead); !a.ok()) {
    return new FailedWatch(ToGrpcStatus(a));
  }
  if (absl::Status id = CheckJobIdArg(req->id()); !id.ok()) {
    return new FailedWatch(ToGrpcStatus(id));
  }
  return new WatchReactor(manager_, req->id());
}

grpc::ServerUnaryReactor* TrainerServiceImpl::CancelJob(grpc::CallbackServerContext* ctx,
                                                        const v1::CancelJobRequest* req,
                                                        v1::CancelJobResponse* resp) {
  if (absl::Status a = auth_.Check(*ctx, RpcAccess::kWrite); !a.ok()) return Done(ctx, a);
  if (absl::Status id = CheckJobIdArg(req->id()); !id.ok()) return Done(ctx, id);
  absl::StatusOr<JobRecord> job = manager_->Cancel(req->id());
  if (job.ok()) JobToProto(*job, resp->mutable_job());
  return Done(ctx, job.status());
}

grpc::ServerUnaryReactor* TrainerServiceImpl::GetJobMetrics(grpc::CallbackServerContext* ctx,
                                                            const v1::GetJobMetricsRequest* req,
                                                            v1::JobMetrics* resp) {
  if (absl::Status a = auth_.Check(*ctx, RpcAccess::kRead); !a.ok()) return Done(ctx, a);
  if (absl::Status id = CheckJobIdArg(req->id()); !id.ok()) return Done(ctx, id);
  absl::StatusOr<JobMetricsPage> page =
      manager_->GetMetrics(req->id(), req->since_step(), req->max_points());
  if (page.ok()) {
    resp->set_id(req->id());
    for (const engine::StepReport& r : page->steps) SetFields(r, resp->add_steps());
    for (const engine::EvalReport& e : page->evals) SetFields(e, resp->add_evals());
    resp->set_truncated(page->truncated);
  }
  return Done(ctx, page.status());
}

grpc::ServerWriteReactor<v1::LogChunk>* TrainerServiceImpl::StreamJobLogs(
    grpc::CallbackServerContext* ctx, const v1::StreamJobLogsRequest* req) {
  absl::Status s = auth_.Check(*ctx, RpcAccess::kRead);
  if (s.ok()) s = CheckJobIdArg(req->id());
  absl::StatusOr<std::string> path = s.ok() ? manager_->LogPath(req->id()) : s;
  if (!path.ok()) {
    struct Failed : grpc::ServerWriteReactor<v1::LogChunk> {
      explicit Failed(grpc::Status st) { Finish(std::move(st)); }
      void OnDone() override { delete this; }
    };
    return new Failed(ToGrpcStatus(path.status()));
  }
  LogStreamOptions o;
  o.path = *path;
  o.offset = req->offset();
  o.follow = req->follow();
  JobManager* m = manager_;
  o.job_done = [m, id = req->id()] {
    absl::StatusOr<JobRecord> j = m->Get(id);
    return !j.ok() || IsTerminal(j->state);
  };
  return StartLogStream(std::move(o));
}

}  // namespace monoroute::trainer
