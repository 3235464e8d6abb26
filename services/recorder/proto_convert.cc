// recorder.v1 <-> core type conversions (run specs, routing-event batches, summaries).
#include "services/recorder/proto_convert.h"

#include "common/service/proto_fields.h"

namespace monoroute::recorder {
namespace {

// The values of `f`, not copied.
template <typename T>
absl::Span<const T> SpanOf(const google::protobuf::RepeatedField<T>& f) {
  return absl::MakeConstSpan(f.data(), static_cast<size_t>(f.size()));
}

// Replaces `f` with the values of `v`.
template <typename T>
void FromSpan(absl::Span<const T> v, google::protobuf::RepeatedField<T>* f) {
  f->Clear();
  f->Reserve(static_cast<int>(v.size()));
  f->Add(v.begin(), v.end());
}

}  // namespace

RunSpecData FromProto(const v1::RunSpec& p) {
  RunSpecData s;
  ProtoFieldReader r(p);
  VisitFields(s, r);
  return s;
}

void ToProto(const RunSpecData& s, v1::RunSpec* p) {
  ProtoFieldWriter w(p);
  VisitFields(s, w);
}

namespace {

events::RoutingEventHeader HeaderOf(const v1::EventBatch& p) {
  events::RoutingEventHeader h;
  h.run_id = p.run_id();
  h.writer_id = p.writer_id();
  h.split = p.split();
  h.step = p.step();
  h.layer = p.layer();
  h.top_k = p.top_k();
  h.batch_id = p.batch_seq();
  return h;
}

}  // namespace

events::RoutingEventView ViewOf(const v1::EventBatch& p) {
  events::RoutingEventView v;
  v.header = HeaderOf(p);
  v.sequence_id = SpanOf(p.sequence_id());
  v.position = SpanOf(p.position());
  v.token_id = SpanOf(p.token_id());
  v.next_token_id = SpanOf(p.next_token_id());
  v.pathways = SpanOf(p.pathways());
  v.weights = SpanOf(p.weights());
  return v;
}

events::RoutingEventBatch FromProto(const v1::EventBatch& p) {
  return events::RoutingEventBatch::CopyOf(ViewOf(p));
}

void ToProto(const events::RoutingEventView& b, v1::EventBatch* p) {
  const events::RoutingEventHeader& h = b.header;
  p->set_run_id(h.run_id);
  p->set_writer_id(h.writer_id);
  p->set_batch_seq(h.batch_id);
  p->set_split(h.split);
  p->set_step(h.step);
  p->set_layer(h.layer);
  p->set_top_k(h.top_k);
  FromSpan(b.sequence_id, p->mutable_sequence_id());
  FromSpan(b.position, p->mutable_position());
  FromSpan(b.token_id, p->mutable_token_id());
  FromSpan(b.next_token_id, p->mutable_next_token_id());
  FromSpan(b.pathways, p->mutable_pathways());
  FromSpan(b.weights, p->mutable_weights());
}

void ToProto(const RunSummaryData& s, v1::RunSummary* p) {
  ProtoFieldWriter w(p);
  VisitFields(s, w);
}

std::vector<std::string> FieldsMissingFromProto() {
  std::vector<std::string> missing;
  RunSummaryData s;
  v1::RunSummary p;
  ProtoFieldWriter w(&p, &missing);
  VisitFields(s, w);
  ProtoFieldReader r(p, &missing);
  VisitFields(s, r);
  return missing;
}

}  // namespace monoroute::recorder
