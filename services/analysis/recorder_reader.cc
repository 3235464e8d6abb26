// RecorderReader: unary GetRun / ListRuns / GetTotals and the streamed QueryEvents as routing-event
// views, over a plaintext or TLS channel (common/service CreateServiceChannel).
#include "services/analysis/recorder_reader.h"

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/service/grpc_status.h"
#include "common/service/tls_credentials.h"
#include "services/recorder/proto_convert.h"

namespace monoroute::analysis {

RecorderReader::RecorderReader(const RecorderReaderOptions& options,
                               std::shared_ptr<grpc::Channel> channel)
    : options_(options), stub_(recorder::v1::Recorder::NewStub(std::move(channel))) {}

absl::StatusOr<std::unique_ptr<RecorderReader>> RecorderReader::Create(
    const RecorderReaderOptions& options) {
  if (options.address.empty()) return absl::InvalidArgumentError("--recorder: empty address");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateServiceChannel(options.address, options.tls, args);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<RecorderReader>(new RecorderReader(options, std::move(*channel)));
}

void RecorderReader::Prepare(grpc::ClientContext* ctx) const {
  ctx->set_deadline(std::chrono::system_clock::now() + options_.timeout);
  if (!options_.bearer_token.empty()) {
    ctx->AddMetadata("authorization", "Bearer " + options_.bearer_token);
  }
}

absl::Status RecorderReader::Wrap(const grpc::Status& s, const std::string& what) const {
  if (s.ok()) return absl::OkStatus();
  absl::Status st = FromGrpcStatus(s);
  if (st.code() == absl::StatusCode::kUnavailable ||
      st.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::UnavailableError(absl::StrCat("recorder at ", options_.address, " unavailable (",
                                               what, "): ", st.message()));
  }
  return st;  // NOT_FOUND, INVALID_ARGUMENT, ... keep the recorder's code and message
}

absl::StatusOr<recorder::v1::RunSummary> RecorderReader::GetRun(const std::string& run_id) const {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  recorder::v1::GetRunRequest req;
  req.set_run_id(run_id);
  recorder::v1::RunSummary resp;
  absl::Status s = Wrap(stub_->GetRun(&ctx, req, &resp), "GetRun");
  if (!s.ok()) return s;
  return resp;
}

absl::StatusOr<uint64_t> RecorderReader::LayerEvents(const std::string& run_id, uint32_t layer,
                                                     const std::string& split) const {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  recorder::v1::TotalsRequest req;
  req.set_run_id(run_id);
  req.set_layer(layer);
  req.set_split(split);
  recorder::v1::TotalsResponse resp;
  absl::Status s = Wrap(stub_->GetTotals(&ctx, req, &resp), "GetTotals");
  if (!s.ok()) return s;
  return resp.tokens();
}

absl::StatusOr<std::vector<recorder::v1::RunSummary>> RecorderReader::ListRuns() const {
  std::vector<recorder::v1::RunSummary> out;
  recorder::v1::ListRunsRequest req;
  do {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    recorder::v1::ListRunsResponse resp;
    absl::Status s = Wrap(stub_->ListRuns(&ctx, req, &resp), "ListRuns");
    if (!s.ok()) return s;
    for (recorder::v1::RunSummary& r : *resp.mutable_runs()) out.push_back(std::move(r));
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  return out;
}

absl::Status RecorderReader::ForEachBatch(
    const recorder::v1::EventQuery& query, uint32_t top_k,
    const std::function<absl::Status(const events::RoutingEventView&)>& fn) const {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  auto reader = stub_->QueryEvents(&ctx, query);
  recorder::v1::EventBatch b;
  absl::Status added = absl::OkStatus();
  while (added.ok() && reader->Read(&b)) {
    const events::RoutingEventView view = recorder::ViewOf(b);
    // The recorder stored it validated: a failure here is a broken recorder or stream.
    if (absl::Status v = view.Validate(events::RoutingEventLimits{SIZE_MAX});
        !v.ok() || view.header.top_k != top_k) {
      added = absl::InternalError(absl::StrCat(
          "recorder at ", options_.address, ": malformed EventBatch for run ", query.run_id(),
          " layer ", view.header.layer, ": ",
          v.ok() ? absl::StrCat("top_k ", view.header.top_k, " is not the run's ", top_k)
                 : std::string(v.message())));
      break;
    }
    added = fn(view);
  }
  if (!added.ok()) {
    ctx.TryCancel();
    (void)reader->Finish();
    return added;
  }
  return Wrap(reader->Finish(), absl::StrCat("QueryEvents layer ", query.layer()));
}

absl::Status RecorderReader::ReadEvents(const std::string& run_id, uint32_t layer,
                                        const std::string& split, uint64_t min_step,
                                        uint64_t max_step, uint64_t max_events,
                                        RoutingTableBuilder* builder) const {
  recorder::v1::EventQuery req;
  req.set_run_id(run_id);
  req.set_has_layer(true);
  req.set_layer(layer);
  req.set_split(split);
  req.set_min_step(min_step);
  req.set_max_step(max_step);
  req.set_limit(max_events + 1);
  return ForEachBatch(req, builder->top_k(), [&](const events::RoutingEventView& b) {
    const size_t n = b.num_events();
    if (builder->events() + n > max_events) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "run ", run_id, " layer ", layer, " has more than ", max_events,
          " events in the selection (options.max_events_per_layer); narrow the split or steps"));
    }
    return builder->Add(n, b.sequence_id.data(), b.token_id.data(), b.pathways.data(),
                        b.position.data(), b.next_token_id.data());
  });
}

}  // namespace monoroute::analysis
