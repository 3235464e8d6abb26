// RecorderReader: unary GetRun and the streamed GetCounts collected into a CountMatrix.
#include "services/analysis/recorder_reader.h"

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/service/grpc_status.h"

namespace monoroute::analysis {

RecorderReader::RecorderReader(const RecorderReaderOptions& options) : options_(options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  stub_ = recorder::v1::Recorder::NewStub(
      grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(), args));
}

absl::StatusOr<std::unique_ptr<RecorderReader>> RecorderReader::Create(
    const RecorderReaderOptions& options) {
  if (options.address.empty()) return absl::InvalidArgumentError("--recorder: empty address");
  return std::unique_ptr<RecorderReader>(new RecorderReader(options));
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
  ctx.set_deadline(std::chrono::system_clock::now() + options_.timeout);
  recorder::v1::GetRunRequest req;
  req.set_run_id(run_id);
  recorder::v1::RunSummary resp;
  absl::Status s = Wrap(stub_->GetRun(&ctx, req, &resp), "GetRun");
  if (!s.ok()) return s;
  return resp;
}

absl::StatusOr<LayerCounts> RecorderReader::GetCounts(const std::string& run_id, uint32_t layer,
                                                      const std::string& split, uint64_t min_step,
                                                      uint64_t max_step,
                                                      uint32_t num_pathways) const {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options_.timeout);
  recorder::v1::CountsRequest req;
  req.set_run_id(run_id);
  req.set_layer(layer);
  req.set_split(split);
  req.set_min_step(min_step);
  req.set_max_step(max_step);
  auto reader = stub_->GetCounts(&ctx, req);
  std::vector<uint32_t> p, t;
  std::vector<uint64_t> c;
  recorder::v1::CountsChunk chunk;
  LayerCounts out;
  while (reader->Read(&chunk)) {
    if (chunk.pathway_size() != chunk.token_id_size() ||
        chunk.pathway_size() != chunk.count_size()) {
      return absl::InternalError(absl::StrCat("recorder at ", options_.address,
                                              ": malformed CountsChunk for run ", run_id, " layer ",
                                              layer));
    }
    p.insert(p.end(), chunk.pathway().begin(), chunk.pathway().end());
    t.insert(t.end(), chunk.token_id().begin(), chunk.token_id().end());
    c.insert(c.end(), chunk.count().begin(), chunk.count().end());
    out.watermark = std::max<uint64_t>(out.watermark, chunk.watermark());
  }
  absl::Status s = Wrap(reader->Finish(), absl::StrCat("GetCounts layer ", layer));
  if (!s.ok()) return s;
  auto m = CountMatrix::FromColumns(num_pathways, p, t, c);
  if (!m.ok()) {
    return absl::InternalError(absl::StrCat("recorder counts of run ", run_id, " layer ", layer,
                                            ": ", m.status().message()));
  }
  out.counts = *std::move(m);
  return out;
}

}  // namespace monoroute::analysis
