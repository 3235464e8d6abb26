// RecorderEvents: ListRuns, GetRun and the streamed QueryEvents of one split into RunEvents.
#include "services/analysis/explorer/recorder_events.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/service/grpc_status.h"

namespace monoroute::analysis::explorer {

RecorderEvents::RecorderEvents(const RecorderEventsOptions& options,
                               std::shared_ptr<grpc::Channel> channel)
    : options_(options), stub_(recorder::v1::Recorder::NewStub(std::move(channel))) {}

absl::StatusOr<std::unique_ptr<RecorderEvents>> RecorderEvents::Create(
    const RecorderEventsOptions& options) {
  if (options.address.empty()) return absl::InvalidArgumentError("--recorder: empty address");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateServiceChannel(options.address, options.tls, args);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<RecorderEvents>(new RecorderEvents(options, std::move(*channel)));
}

void RecorderEvents::Prepare(grpc::ClientContext* ctx) const {
  ctx->set_deadline(std::chrono::system_clock::now() + options_.timeout);
  if (!options_.bearer_token.empty()) {
    ctx->AddMetadata("authorization", "Bearer " + options_.bearer_token);
  }
}

absl::Status RecorderEvents::Wrap(const grpc::Status& s, const std::string& what) const {
  if (s.ok()) return absl::OkStatus();
  absl::Status st = FromGrpcStatus(s);
  if (st.code() == absl::StatusCode::kUnavailable ||
      st.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::UnavailableError(absl::StrCat("recorder at ", options_.address, " unavailable (",
                                               what, "): ", st.message()));
  }
  return st;
}

absl::StatusOr<std::vector<RunListing>> RecorderEvents::ListRuns() const {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  recorder::v1::ListRunsResponse resp;
  absl::Status s = Wrap(stub_->ListRuns(&ctx, recorder::v1::ListRunsRequest(), &resp), "ListRuns");
  if (!s.ok()) return s;
  std::vector<RunListing> out;
  for (const recorder::v1::RunSummary& r : resp.runs()) {
    RunListing l;
    l.run_id = r.spec().run_id();
    l.labels.insert(r.spec().labels().begin(), r.spec().labels().end());
    l.events = r.events();
    l.splits.assign(r.splits().begin(), r.splits().end());
    l.finished = r.finished();
    l.last_write_unix_ms = r.last_write_unix_ms();
    out.push_back(std::move(l));
  }
  std::stable_sort(out.begin(), out.end(), [](const RunListing& a, const RunListing& b) {
    return a.last_write_unix_ms > b.last_write_unix_ms;
  });
  return out;
}

absl::StatusOr<recorder::v1::RunSummary> RecorderEvents::GetRun(const std::string& run_id) const {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  recorder::v1::GetRunRequest req;
  req.set_run_id(run_id);
  recorder::v1::RunSummary resp;
  absl::Status s = Wrap(stub_->GetRun(&ctx, req, &resp), "GetRun");
  if (!s.ok()) return s;
  return resp;
}

absl::StatusOr<std::string> RecorderEvents::ResolveSplit(const recorder::v1::RunSummary& summary,
                                                         const std::string& split) {
  const auto& splits = summary.splits();
  auto has = [&](const std::string& s) {
    return std::find(splits.begin(), splits.end(), s) != splits.end();
  };
  if (!split.empty()) {
    if (has(split)) return split;
    return absl::NotFoundError(absl::StrCat("split: run ", summary.spec().run_id(),
                                            " has no split '", split,
                                            "' (splits: ", absl::StrJoin(splits, ", "), ")"));
  }
  if (has("valid")) return std::string("valid");
  for (const std::string& s : splits) {
    if (s.find('/') == std::string::npos) return s;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("run ", summary.spec().run_id(), " has no events yet"));
}

absl::Status RecorderEvents::ReadLayer(const std::string& run_id, const std::string& split,
                                       LayerEventsBuilder* builder) const {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  recorder::v1::EventQuery req;
  req.set_run_id(run_id);
  req.set_has_layer(true);
  req.set_layer(builder->layer());
  req.set_split(split);
  req.set_limit(options_.max_events_per_layer + 1);
  auto reader = stub_->QueryEvents(&ctx, req);
  recorder::v1::EventBatch b;
  absl::Status added = absl::OkStatus();
  while (added.ok() && reader->Read(&b)) {
    const size_t n = static_cast<size_t>(b.token_id_size());
    const size_t nk = n * builder->top_k();
    if (static_cast<size_t>(b.sequence_id_size()) != n || static_cast<size_t>(b.step_size()) != n ||
        static_cast<size_t>(b.position_size()) != n ||
        static_cast<size_t>(b.next_token_id_size()) != n ||
        static_cast<size_t>(b.pathways_size()) != nk ||
        static_cast<size_t>(b.weights_size()) != nk) {
      added = absl::InternalError(absl::StrCat("recorder at ", options_.address,
                                               ": malformed EventBatch for run ", run_id, " layer ",
                                               builder->layer()));
      break;
    }
    added = builder->Add(n, b.step().data(), b.sequence_id().data(), b.position().data(),
                         b.token_id().data(), b.next_token_id().data(), b.pathways().data(),
                         b.weights().data());
  }
  if (!added.ok()) {
    ctx.TryCancel();
    (void)reader->Finish();
    return added;
  }
  return Wrap(reader->Finish(), absl::StrCat("QueryEvents layer ", builder->layer()));
}

absl::StatusOr<RunEvents> RecorderEvents::ReadRun(const recorder::v1::RunSummary& summary,
                                                  const std::string& split) const {
  const auto& spec = summary.spec();
  if (!spec.store_raw_events()) {
    return absl::FailedPreconditionError(
        absl::StrCat("run ", spec.run_id(), " is counts-only (no raw events to explore)"));
  }
  absl::StatusOr<std::string> resolved = ResolveSplit(summary, split);
  if (!resolved.ok()) return resolved.status();
  RunEvents run;
  run.run_id = spec.run_id();
  run.split = *resolved;
  run.num_pathways = spec.num_pathways();
  run.top_k = spec.top_k();
  run.vocab_size = spec.vocab_size();
  run.labels.insert(spec.labels().begin(), spec.labels().end());
  run.watermark = summary.watermark();
  run.splits.assign(summary.splits().begin(), summary.splits().end());
  for (uint32_t layer : spec.routed_layers()) {
    absl::StatusOr<LayerEventsBuilder> b =
        LayerEventsBuilder::Create(layer, spec.num_pathways(), spec.top_k());
    if (!b.ok()) return b.status();
    b->set_max_events(options_.max_events_per_layer);
    if (absl::Status s = ReadLayer(run.run_id, run.split, &*b); !s.ok()) return s;
    run.layers.push_back(b->Build());
  }
  std::sort(run.layers.begin(), run.layers.end(),
            [](const LayerEvents& a, const LayerEvents& b) { return a.layer < b.layer; });
  return run;
}

}  // namespace monoroute::analysis::explorer
