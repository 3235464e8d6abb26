// SetScalarField: sets a singular scalar field of a protobuf message, found by name through
// reflection, from a C++ value of a field list (services/analysis/report_fields.h,
// common/engine/progress_fields.h), converting to the field's type. The one switch over
// protobuf's scalar types the services' field-list writers share.
#ifndef MONOROUTE_COMMON_SERVICE_PROTO_FIELDS_H_
#define MONOROUTE_COMMON_SERVICE_PROTO_FIELDS_H_

#include <cstdint>
#include <string>
#include <type_traits>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace monoroute {

// Sets field `f` of `m` to `value`: an integral value into a bool or any integer field (cast to
// its width), a floating value into a double field, a string into a string field. Returns false
// and sets nothing when `f` is repeated or of another type.
template <typename T>
bool SetScalarField(google::protobuf::Message* m, const google::protobuf::FieldDescriptor* f,
                    const T& value) {
  using FD = google::protobuf::FieldDescriptor;
  if (f->is_repeated()) return false;
  const google::protobuf::Reflection* r = m->GetReflection();
  if constexpr (std::is_same_v<T, std::string>) {
    if (f->cpp_type() != FD::CPPTYPE_STRING) return false;
    r->SetString(m, f, value);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (f->cpp_type() != FD::CPPTYPE_DOUBLE) return false;
    r->SetDouble(m, f, static_cast<double>(value));
  } else {
    static_assert(std::is_integral_v<T>, "SetScalarField: integral, floating or std::string");
    switch (f->cpp_type()) {
      case FD::CPPTYPE_BOOL:
        r->SetBool(m, f, value != 0);
        break;
      case FD::CPPTYPE_UINT32:
        r->SetUInt32(m, f, static_cast<uint32_t>(value));
        break;
      case FD::CPPTYPE_UINT64:
        r->SetUInt64(m, f, static_cast<uint64_t>(value));
        break;
      case FD::CPPTYPE_INT32:
        r->SetInt32(m, f, static_cast<int32_t>(value));
        break;
      case FD::CPPTYPE_INT64:
        r->SetInt64(m, f, static_cast<int64_t>(value));
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_PROTO_FIELDS_H_
