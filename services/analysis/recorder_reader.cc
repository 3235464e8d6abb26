// RecorderReader: unary GetRun and the streamed QueryEvents collected into a RoutingTable, over a
// plaintext or TLS channel (common/service CreateServiceChannel).
#include "services/analysis/recorder_reader.h"

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/service/grpc_status.h"
#include "common/service/tls_credentials.h"

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

absl::Status RecorderReader::ReadEvents(const std::string& run_id, uint32_t layer,
                                        const std::string& split, uint64_t min_step,
                                        uint64_t max_step, uint64_t max_events,
                                        RoutingTableBuilder* builder) const {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  recorder::v1::EventQuery req;
  req.set_run_id(run_id);
  req.set_has_layer(true);
  req.set_layer(layer);
  req.set_split(split);
  req.set_min_step(min_step);
  req.set_max_step(max_step);
  req.set_limit(max_events + 1);
  auto reader = stub_->QueryEvents(&ctx, req);
  recorder::v1::EventBatch b;
  absl::Status added = absl::OkStatus();
  while (added.ok() && reader->Read(&b)) {
    const size_t n = static_cast<size_t>(b.token_id_size());
    if (b.sequence_id_size() != static_cast<int>(n) ||
        static_cast<size_t>(b.pathways_size()) != n * builder->top_k()) {
      added = absl::InternalError(absl::StrCat("recorder at ", options_.address,
                                               ": malformed EventBatch for run ", run_id, " layer ",
                                               layer));
      break;
    }
    if (builder->events() + n > max_events) {
      added = absl::ResourceExhaustedError(absl::StrCat(
          "run ", run_id, " layer ", layer, " has more than ", max_events,
          " events in the selection (options.max_events_per_layer); narrow the split or steps"));
      break;
    }
    // Position and next token when the recorder stored them (older runs: derived from order).
    const bool has_position = static_cast<size_t>(b.position_size()) == n;
    const bool has_next = static_cast<size_t>(b.next_token_id_size()) == n;
    added = builder->Add(n, b.sequence_id().data(), b.token_id().data(), b.pathways().data(),
                         has_position ? b.position().data() : nullptr,
                         has_next ? b.next_token_id().data() : nullptr);
  }
  if (!added.ok()) {
    ctx.TryCancel();
    (void)reader->Finish();
    return added;
  }
  return Wrap(reader->Finish(), absl::StrCat("QueryEvents layer ", layer));
}

}  // namespace monoroute::analysis
