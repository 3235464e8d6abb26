// TrainRecorder on services/recorder's RecorderWriter (builds with the services only).
#include "clients/cli/train_recording.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "services/recorder/recorder_client.h"

namespace monoroute::cli {
namespace {

class RecorderObserver : public TrainRecorder {
 public:
  RecorderObserver(TrainRecordingOptions options, const engine::JobSpec& spec,
                   engine::TrainingObserver* inner, std::string token)
      : options_(std::move(options)), spec_(spec), inner_(inner), token_(std::move(token)) {}

  absl::Status OnRunShape(const engine::RunShape& shape) override {
    RETURN_IF_ERROR(inner_->OnRunShape(shape));
    recorder::RecorderWriterOptions wo;
    wo.address = options_.address;
    wo.writer_id = absl::StrCat("rank-", shape.rank);  // stable across restarts of the rank
    wo.bearer_token = token_;
    wo.tls = options_.tls;
    ASSIGN_OR_RETURN(writer_, recorder::RecorderWriter::Create(wo));
    recorder::RunSpecLite run;
    run.set_run_id(options_.run_id);
    for (int l : shape.routed_layers) run.add_routed_layers(static_cast<uint32_t>(l));
    run.set_num_pathways(static_cast<uint32_t>(shape.num_pathways));
    run.set_top_k(static_cast<uint32_t>(shape.top_k));
    run.set_vocab_size(static_cast<uint32_t>(shape.vocab_size));
    run.set_store_raw_events(true);
    (*run.mutable_labels())["kind"] = spec_.kind;
    (*run.mutable_labels())["balancing"] =
        model::BalancingMethodName(spec_.routing.balancing.method);
    (*run.mutable_labels())["routing"] = shape.routed ? "routed" : "dense_slices";
    if (!spec_.name.empty()) (*run.mutable_labels())["name"] = spec_.name;
    if (absl::Status s = writer_->CreateRun(run); !s.ok()) {
      error_ = absl::Status(s.code(), absl::StrCat("recorder refused run '", options_.run_id,
                                                   "' at ", options_.address, ": ", s.message()));
      writer_.reset();
      return error_;
    }
    return absl::OkStatus();
  }
  void OnStart(int64_t start, int64_t total) override { inner_->OnStart(start, total); }
  void OnStep(const engine::StepReport& r) override { inner_->OnStep(r); }
  void OnEval(const engine::EvalReport& r) override { inner_->OnEval(r); }
  bool WantsRoutingEvents() const override { return true; }
  void OnRoutingEvents(const events::RoutingEventBatch& b) override {
    if (writer_ == nullptr || !error_.ok()) return;
    events::RoutingEventView v = b.view();
    v.header.run_id = options_.run_id;
    writer_->Append(v);  // a drop is counted by the writer
  }
  void OnCheckpoint(int64_t step, const std::string& dir, double seconds) override {
    inner_->OnCheckpoint(step, dir, seconds);
  }
  bool ShouldStop() override { return inner_->ShouldStop(); }
  absl::Status FlushEvents() override {
    RETURN_IF_ERROR(inner_->FlushEvents());
    if (!error_.ok()) return error_;
    if (writer_ == nullptr) return absl::OkStatus();
    absl::Status s = writer_->Flush(std::chrono::seconds(120));
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("recorder flush: ", s.message()));
    return absl::OkStatus();
  }
  absl::Status OnEventsComplete() override {
    RETURN_IF_ERROR(inner_->OnEventsComplete());
    if (writer_ == nullptr) return absl::OkStatus();
    absl::Status s = writer_->FinishRun(options_.run_id, std::chrono::seconds(10));
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("recorder FinishRun: ", s.message()));
    return absl::OkStatus();
  }
  absl::Status Error() const override { return error_; }
  std::string Summary() const override {
    if (writer_ == nullptr) return "no events recorded";
    recorder::RecorderWriterStats st = writer_->stats();
    return absl::StrFormat("recorder run %s: %d events enqueued, %d acked, %d dropped",
                           options_.run_id, st.events_enqueued, st.events_acked, st.events_dropped);
  }

 private:
  TrainRecordingOptions options_;
  engine::JobSpec spec_;
  engine::TrainingObserver* inner_;
  std::string token_;
  std::unique_ptr<recorder::RecorderWriter> writer_;
  absl::Status error_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TrainRecorder>> MakeTrainRecorder(
    const TrainRecordingOptions& options, const engine::JobSpec& spec,
    engine::TrainingObserver* inner) {
  if (options.run_id.empty()) {
    return absl::InvalidArgumentError("--run-id: required with --recorder");
  }
  std::string token;
  if (!options.token_file.empty()) {
    ASSIGN_OR_RETURN(token, ReadFile(options.token_file));
    while (!token.empty() &&
           (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
      token.pop_back();
    }
  }
  return std::unique_ptr<TrainRecorder>(new RecorderObserver(options, spec, inner, token));
}

}  // namespace monoroute::cli
