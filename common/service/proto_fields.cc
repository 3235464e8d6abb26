// SetIntegerField: the switch over protobuf's integer field types (see proto_fields.h).
#include "common/service/proto_fields.h"

namespace monoroute {

bool SetIntegerField(google::protobuf::Message* m, const google::protobuf::FieldDescriptor* f,
                     int64_t v) {
  using FD = google::protobuf::FieldDescriptor;
  if (f->is_repeated()) return false;
  const google::protobuf::Reflection* r = m->GetReflection();
  switch (f->cpp_type()) {
    case FD::CPPTYPE_INT64:
      r->SetInt64(m, f, v);
      return true;
    case FD::CPPTYPE_INT32:
      r->SetInt32(m, f, static_cast<int32_t>(v));
      return true;
    case FD::CPPTYPE_UINT32:
      r->SetUInt32(m, f, static_cast<uint32_t>(v));
      return true;
    case FD::CPPTYPE_UINT64:
      r->SetUInt64(m, f, static_cast<uint64_t>(v));
      return true;
    case FD::CPPTYPE_BOOL:
      r->SetBool(m, f, v != 0);
      return true;
    default:
      return false;
  }
}

}  // namespace monoroute
