// recorder.v1 <-> core type conversions (run specs, routing-event batches, summaries).
#include "services/recorder/proto_convert.h"

namespace monoroute::recorder {
namespace {

// A copy of the values of `f`.
template <typename T>
std::vector<T> ToVec(const google::protobuf::RepeatedField<T>& f) {
  return std::vector<T>(f.begin(), f.end());
}

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
  s.run_id = p.run_id();
  s.routed_layers = ToVec(p.routed_layers());
  s.num_pathways = p.num_pathways();
  s.top_k = p.top_k();
  s.vocab_size = p.vocab_size();
  s.store_raw_events = p.store_raw_events();
  s.step_bucket = p.step_bucket();
  s.raw_retention_steps = p.raw_retention_steps();
  for (const auto& [k, v] : p.labels()) s.labels[k] = v;
  return s;
}

void ToProto(const RunSpecData& s, v1::RunSpec* p) {
  p->set_run_id(s.run_id);
  FromSpan(absl::MakeConstSpan(s.routed_layers), p->mutable_routed_layers());
  p->set_num_pathways(s.num_pathways);
  p->set_top_k(s.top_k);
  p->set_vocab_size(s.vocab_size);
  p->set_store_raw_events(s.store_raw_events);
  p->set_step_bucket(s.step_bucket);
  p->set_raw_retention_steps(s.raw_retention_steps);
  for (const auto& [k, v] : s.labels) (*p->mutable_labels())[k] = v;
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
  ToProto(s.spec, p->mutable_spec());
  p->set_events(s.events);
  p->set_batches(s.batches);
  p->set_min_step(s.min_step);
  p->set_max_step(s.max_step);
  FromSpan(absl::MakeConstSpan(s.layers_seen), p->mutable_layers_seen());
  for (const std::string& sp : s.splits) p->add_splits(sp);
  p->set_first_write_unix_ms(s.first_write_unix_ms);
  p->set_last_write_unix_ms(s.last_write_unix_ms);
  p->set_watermark(s.watermark);
  p->set_finished(s.finished);
  p->set_finished_unix_ms(s.finished_unix_ms);
}

}  // namespace monoroute::recorder
