// recorder.v1 <-> core type conversions (run specs, routing-event batches, summaries, queries,
// totals).
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

// A core value read from message `p` through its field list (recorder_types.h).
template <typename T>
T ReadFields(const google::protobuf::Message& p) {
  T t;
  ProtoFieldReader r(p);
  VisitFields(t, r);
  return t;
}

// Sets message `p`'s fields from `t`'s field list.
template <typename T>
void WriteFields(const T& t, google::protobuf::Message* p) {
  ProtoFieldWriter w(p);
  VisitFields(t, w);
}

// Appends to `*missing` the fields of T's list that message M lacks or types otherwise.
template <typename T, typename M>
void CheckFields(std::vector<std::string>* missing) {
  T t;
  M p;
  ProtoFieldWriter w(&p, missing);
  VisitFields(t, w);
  ProtoFieldReader r(p, missing);
  VisitFields(t, r);
}

}  // namespace

RunSpecData FromProto(const v1::RunSpec& p) { return ReadFields<RunSpecData>(p); }

void ToProto(const RunSpecData& s, v1::RunSpec* p) { WriteFields(s, p); }

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

void ToProto(const RunSummaryData& s, v1::RunSummary* p) { WriteFields(s, p); }

CountsQueryData FromProto(const v1::CountsRequest& p) { return ReadFields<CountsQueryData>(p); }

EventQueryData FromProto(const v1::EventQuery& p) { return ReadFields<EventQueryData>(p); }

void ToProto(const TotalsData& t, v1::TotalsResponse* p) { WriteFields(t, p); }

std::vector<std::string> FieldsMissingFromProto() {
  std::vector<std::string> missing;
  CheckFields<RunSummaryData, v1::RunSummary>(&missing);  // with its spec (RunSpec)
  CheckFields<CountsQueryData, v1::CountsRequest>(&missing);
  CheckFields<EventQueryData, v1::EventQuery>(&missing);
  CheckFields<TotalsData, v1::TotalsResponse>(&missing);
  return missing;
}

}  // namespace monoroute::recorder
