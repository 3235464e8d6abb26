// Setting a protobuf field by reflection from a C++ integer: the one switch over the integer
// field types, for the writers that fill messages from a field list (the trainer's progress
// types, the analysis report) instead of field-by-field copies.
#ifndef MONOROUTE_COMMON_SERVICE_PROTO_FIELDS_H_
#define MONOROUTE_COMMON_SERVICE_PROTO_FIELDS_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cstdint>

namespace monoroute {

// Sets the singular field `f` of `m` to `v` converted to the field's type (INT32, INT64, UINT32,
// UINT64 by static_cast; BOOL as v != 0). False, and nothing set, for a repeated field or any
// other type. `f` must belong to `m`'s descriptor. Thread-compatible (writes `m`).
bool SetIntegerField(google::protobuf::Message* m, const google::protobuf::FieldDescriptor* f,
                     int64_t v);

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_PROTO_FIELDS_H_
