// Protobuf messages from and to the C++ types of a field list (services/analysis/report_fields.h,
// common/engine/progress_fields.h, services/recorder/recorder_types.h), by reflection:
// SetScalarField / AddScalarField / GetScalarField convert one value to and from the field's type
// (the one switch over protobuf's scalar types), and ProtoFieldWriter / ProtoFieldReader walk a
// field list (`VisitFields(value, visitor)`, found by argument-dependent lookup) and set or read
// the message's fields of the same names, so no field is listed twice.
#ifndef MONOROUTE_COMMON_SERVICE_PROTO_FIELDS_H_
#define MONOROUTE_COMMON_SERVICE_PROTO_FIELDS_H_

#include <cstdint>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
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

// Appends `value` to the repeated scalar field `f` (an integer, bool, double, float or string
// field); false and nothing added when `f` is singular or of another type.
template <typename T>
bool AddScalarField(google::protobuf::Message* m, const google::protobuf::FieldDescriptor* f,
                    const T& value) {
  using FD = google::protobuf::FieldDescriptor;
  if (!f->is_repeated()) return false;
  const google::protobuf::Reflection* r = m->GetReflection();
  if constexpr (std::is_same_v<T, std::string>) {
    if (f->cpp_type() != FD::CPPTYPE_STRING) return false;
    r->AddString(m, f, value);
    return true;
  } else {
    static_assert(std::is_arithmetic_v<T>, "AddScalarField: arithmetic or std::string");
    switch (f->cpp_type()) {
      case FD::CPPTYPE_UINT32:
        r->AddUInt32(m, f, static_cast<uint32_t>(value));
        return true;
      case FD::CPPTYPE_UINT64:
        r->AddUInt64(m, f, static_cast<uint64_t>(value));
        return true;
      case FD::CPPTYPE_INT32:
        r->AddInt32(m, f, static_cast<int32_t>(value));
        return true;
      case FD::CPPTYPE_INT64:
        r->AddInt64(m, f, static_cast<int64_t>(value));
        return true;
      case FD::CPPTYPE_DOUBLE:
        r->AddDouble(m, f, static_cast<double>(value));
        return true;
      case FD::CPPTYPE_FLOAT:
        r->AddFloat(m, f, static_cast<float>(value));
        return true;
      default:
        return false;
    }
  }
}

// Reads field `f` of `m` (singular, or element `index` of a repeated field) into `*value`,
// converting to T; false and nothing read when the types do not match.
template <typename T>
bool GetScalarField(const google::protobuf::Message& m, const google::protobuf::FieldDescriptor* f,
                    T* value, int index = -1) {
  using FD = google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  if (rep != (index >= 0)) return false;
  if constexpr (std::is_same_v<T, std::string>) {
    if (f->cpp_type() != FD::CPPTYPE_STRING) return false;
    *value = rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
  } else {
    static_assert(std::is_arithmetic_v<T>, "GetScalarField: arithmetic or std::string");
    switch (f->cpp_type()) {
      case FD::CPPTYPE_BOOL:
        *value = static_cast<T>(rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f));
        break;
      case FD::CPPTYPE_UINT32:
        *value = static_cast<T>(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
        break;
      case FD::CPPTYPE_UINT64:
        *value = static_cast<T>(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
        break;
      case FD::CPPTYPE_INT32:
        *value = static_cast<T>(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
        break;
      case FD::CPPTYPE_INT64:
        *value = static_cast<T>(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
        break;
      case FD::CPPTYPE_DOUBLE:
        *value = static_cast<T>(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
        break;
      default:
        return false;
    }
  }
  return true;
}

namespace proto_fields_internal {
// True for std::vector<E>: a repeated field.
template <typename T>
inline constexpr bool kIsVector = false;
template <typename E>
inline constexpr bool kIsVector<std::vector<E>> = true;
}  // namespace proto_fields_internal

// The message field `name` of `m`, or null: the name is recorded in `*missing` (when not null) as
// "Message.name". A field list names a field the message lacks only by mistake; the services'
// tests check that nothing is missing.
inline const google::protobuf::FieldDescriptor* FindProtoField(const google::protobuf::Message& m,
                                                               const char* name,
                                                               std::vector<std::string>* missing) {
  const google::protobuf::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr && missing != nullptr) {
    missing->push_back(absl::StrCat(m.GetDescriptor()->name(), ".", name));
  }
  return f;
}

// Records that field `name` of `m` has a type the visited value cannot take ("Message.name
// (type)" in `*missing`, when not null).
inline void RecordProtoTypeMismatch(const google::protobuf::Message& m, const char* name,
                                    std::vector<std::string>* missing) {
  if (missing != nullptr) {
    missing->push_back(absl::StrCat(m.GetDescriptor()->name(), ".", name, " (type)"));
  }
}

// Sets each visited field of a message to the visited value: numbers, bools and strings into the
// scalar field of the name, an enum into the enum field (same numbers), vectors of those into the
// repeated field (replaced), a string map into the map field, any other type into the singular
// message field through its own VisitFields, and a vector of such types (or List(name, items))
// into a repeated message field. A name the message lacks or whose type does not match is
// recorded in `*missing` (may be null) and skipped.
class ProtoFieldWriter {
 public:
  // Writes into `m` (not owned; must outlive the writer).
  explicit ProtoFieldWriter(google::protobuf::Message* m,
                            std::vector<std::string>* missing = nullptr)
      : m_(m), missing_(missing) {}

  // One field (see the class comment for the C++ types).
  template <typename T>
  void operator()(const char* name, const T& value) {
    const google::protobuf::FieldDescriptor* f = FindProtoField(*m_, name, missing_);
    if (f == nullptr) return;
    const google::protobuf::Reflection* r = m_->GetReflection();
    bool ok = true;
    if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>) {
      ok = SetScalarField(m_, f, value);
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
      ok = f->is_map();
      if (ok) r->ClearField(m_, f);
      for (auto it = value.begin(); ok && it != value.end(); ++it) {
        google::protobuf::Message* e = r->AddMessage(m_, f);
        ok = SetScalarField(e, f->message_type()->map_key(), it->first) &&
             SetScalarField(e, f->message_type()->map_value(), it->second);
      }
    } else if constexpr (std::is_enum_v<T>) {
      ok = f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_ENUM && !f->is_repeated();
      if (ok) r->SetEnumValue(m_, f, static_cast<int>(value));
    } else if constexpr (proto_fields_internal::kIsVector<T>) {
      using E = typename T::value_type;
      if constexpr (std::is_arithmetic_v<E> || std::is_same_v<E, std::string>) {
        r->ClearField(m_, f);
        for (size_t i = 0; ok && i < value.size(); ++i) ok = AddScalarField(m_, f, value[i]);
      } else {
        ok = Messages(f, value);
      }
    } else {
      ok = f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated();
      if (ok) {
        ProtoFieldWriter inner(r->MutableMessage(m_, f), missing_);
        VisitFields(value, inner);
      }
    }
    if (!ok) RecordProtoTypeMismatch(*m_, name, missing_);
  }

  // The same for a field a record must have (the JSON reader's distinction; none here).
  template <typename T>
  void Required(const char* name, const T& value) {
    (*this)(name, value);
  }

  // A repeated message field from `items`, each through its VisitFields (replaced).
  template <typename S>
  void List(const char* name, const std::vector<S>& items) {
    (*this)(name, items);
  }

 private:
  // Replaces the repeated message field `f` with `items`; false when `f` is not one.
  template <typename S>
  bool Messages(const google::protobuf::FieldDescriptor* f, const std::vector<S>& items) {
    if (!f->is_repeated() || f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      return false;
    }
    const google::protobuf::Reflection* r = m_->GetReflection();
    r->ClearField(m_, f);
    for (const S& s : items) {
      ProtoFieldWriter inner(r->AddMessage(m_, f), missing_);
      VisitFields(s, inner);
    }
    return true;
  }

  google::protobuf::Message* m_;
  std::vector<std::string>* missing_;
};

// Reads each visited field from the message field of the same name (the reverse of
// ProtoFieldWriter for numbers, bools, strings, their vectors, string maps and nested messages).
// Visit with non-const references. Missing names and mismatched types are recorded as there.
class ProtoFieldReader {
 public:
  // Reads from `m` (not owned; must outlive the reader).
  explicit ProtoFieldReader(const google::protobuf::Message& m,
                            std::vector<std::string>* missing = nullptr)
      : m_(m), missing_(missing) {}

  // One field.
  template <typename T>
  void operator()(const char* name, T& value) {
    const google::protobuf::FieldDescriptor* f = FindProtoField(m_, name, missing_);
    if (f == nullptr) return;
    const google::protobuf::Reflection* r = m_.GetReflection();
    bool ok = true;
    if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>) {
      ok = GetScalarField(m_, f, &value);
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
      ok = f->is_map();
      value.clear();
      const int n = ok ? r->FieldSize(m_, f) : 0;
      for (int i = 0; ok && i < n; ++i) {
        const google::protobuf::Message& e = r->GetRepeatedMessage(m_, f, i);
        std::string k, v;
        ok = GetScalarField(e, f->message_type()->map_key(), &k) &&
             GetScalarField(e, f->message_type()->map_value(), &v);
        value[k] = v;
      }
    } else if constexpr (proto_fields_internal::kIsVector<T>) {
      ok = f->is_repeated();
      value.assign(ok ? r->FieldSize(m_, f) : 0, {});
      for (size_t i = 0; ok && i < value.size(); ++i) {
        ok = GetScalarField(m_, f, &value[i], static_cast<int>(i));
      }
    } else {
      ok = f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated();
      if (ok) {
        ProtoFieldReader inner(r->GetMessage(m_, f), missing_);
        VisitFields(value, inner);
      }
    }
    if (!ok) RecordProtoTypeMismatch(m_, name, missing_);
  }

 private:
  const google::protobuf::Message& m_;
  std::vector<std::string>* missing_;
};

}  // namespace monoroute

#endif  // MONOROUTE_COMMON_SERVICE_PROTO_FIELDS_H_
