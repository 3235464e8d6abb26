// Conversions between recorder.v1 wire messages and the core's plain types: the ONE place a
// recorder.v1.EventBatch becomes an events::RoutingEventBatch (or a view of it) and back. Used by
// the service, the client (RecorderWriter), the benchmark tools and the readers. Pure functions.
#ifndef MONOROUTE_SERVICES_RECORDER_PROTO_CONVERT_H_
#define MONOROUTE_SERVICES_RECORDER_PROTO_CONVERT_H_

#include <string>
#include <vector>

#include "common/events/routing_event_batch.h"
#include "monoroute/recorder/v1/recorder.pb.h"
#include "services/recorder/recorder_types.h"

namespace monoroute::recorder {

RunSpecData FromProto(const v1::RunSpec& p);
void ToProto(const RunSpecData& s, v1::RunSpec* p);
// A read-only view of `p`'s columns (no copy; valid while `p` is alive and unchanged).
events::RoutingEventView ViewOf(const v1::EventBatch& p);
// An owning copy of `p`.
events::RoutingEventBatch FromProto(const v1::EventBatch& p);
// Replaces `p`'s fields with the batch's header and columns.
void ToProto(const events::RoutingEventView& b, v1::EventBatch* p);
void ToProto(const RunSummaryData& s, v1::RunSummary* p);
// A counts or events query as the store takes it (every field of the request, unchanged: the
// service applies its defaults and bounds).
CountsQueryData FromProto(const v1::CountsRequest& p);
EventQueryData FromProto(const v1::EventQuery& p);
void ToProto(const TotalsData& t, v1::TotalsResponse* p);
// The fields of recorder_types.h's field lists that their messages (RunSpec, RunSummary,
// CountsRequest, EventQuery, TotalsResponse) lack or type otherwise
// ("Message.name", "Message.name (type)"), written and read once each: empty (a test checks).
std::vector<std::string> FieldsMissingFromProto();

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_PROTO_CONVERT_H_
