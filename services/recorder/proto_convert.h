// Conversions between recorder.v1 wire messages and the core's plain structs. Pure functions.
#ifndef MONOROUTE_SERVICES_RECORDER_PROTO_CONVERT_H_
#define MONOROUTE_SERVICES_RECORDER_PROTO_CONVERT_H_

#include "monoroute/recorder/v1/recorder.pb.h"
#include "services/recorder/recorder_types.h"

namespace monoroute::recorder {

RunSpecData FromProto(const v1::RunSpec& p);
void ToProto(const RunSpecData& s, v1::RunSpec* p);
EventBatchData FromProto(const v1::EventBatch& p);
void ToProto(const EventBatchData& b, v1::EventBatch* p);
void ToProto(const RunSummaryData& s, v1::RunSummary* p);

}  // namespace monoroute::recorder

#endif  // MONOROUTE_SERVICES_RECORDER_PROTO_CONVERT_H_
