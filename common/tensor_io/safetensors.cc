// Safetensors reader/writer: every header field validated before a byte of data is touched.
#include "common/tensor_io/safetensors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/file_util.h"
#include "common/base/status_macros.h"
#include "common/tensor_io/torch_status.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "monoroute's tensor I/O assumes a little-endian host"
#endif

namespace monoroute {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // as Hugging Face's safetensors

struct DTypeName {
  const char* name;
  at::ScalarType type;
};
constexpr DTypeName kDTypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf},  {"BF16", at::kBFloat16},
    {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
    {"U8", at::kByte},    {"BOOL", at::kBool},
};

absl::Status Bad(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::Status BadTensor(const std::string& path, const std::string& name, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": tensor '", name, "': ", what));
}

// A header value for an error message: scalars as written (cut at 64 bytes), containers by kind
// only (a hostile header can nest deeper than dump() can recurse).
std::string Brief(const Json& v) {
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  std::string s = v.dump();
  return s.size() <= 64 ? s : absl::StrCat(s.substr(0, 64), "...");
}

// Reads a JSON non-negative integer that fits in int64.
bool AsCount(const Json& j, uint64_t* out) {
  if (j.is_number_unsigned()) {
    *out = j.get<uint64_t>();
  } else if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(j.get<int64_t>());
  } else {
    return false;
  }
  return *out <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

absl::StatusOr<SafetensorsEntry> ParseEntry(const std::string& path, const std::string& name,
                                            const Json& j) {
  if (!j.is_object()) return BadTensor(path, name, "header entry is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets") {
      return BadTensor(path, name, absl::StrCat("unknown header field '", it.key(), "'"));
    }
  }
  SafetensorsEntry e;
  e.name = name;
  auto dt = j.find("dtype");
  if (dt == j.end() || !dt->is_string()) return BadTensor(path, name, "missing string 'dtype'");
  auto type = SafetensorsDType(dt->get<std::string>());
  if (!type.ok()) return BadTensor(path, name, type.status().message());
  e.dtype = *type;
  auto sh = j.find("shape");
  if (sh == j.end() || !sh->is_array()) return BadTensor(path, name, "missing array 'shape'");
  // numel * itemsize, saturating: a product beyond int64 can never match real offsets.
  constexpr uint64_t kLimit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t numel = 1;
  bool overflow = false, zero = false;
  for (const Json& d : *sh) {
    uint64_t n;
    if (!AsCount(d, &n)) {
      return BadTensor(path, name, absl::StrCat("bad dimension ", Brief(d), " in 'shape'"));
    }
    e.shape.push_back(static_cast<int64_t>(n));
    if (n == 0) zero = true;
    if (!overflow && n != 0 && __builtin_mul_overflow(numel, n, &numel)) overflow = true;
  }
  auto off = j.find("data_offsets");
  if (off == j.end() || !off->is_array() || off->size() != 2 || !AsCount((*off)[0], &e.begin) ||
      !AsCount((*off)[1], &e.end)) {
    return BadTensor(path, name, "'data_offsets' must be two non-negative integers");
  }
  if (e.end < e.begin) {
    return BadTensor(path, name,
                     absl::StrCat("data_offsets [", e.begin, ", ", e.end, "] end before begin"));
  }
  const uint64_t item = c10::elementSize(e.dtype);
  if (zero) {
    numel = 0;
    overflow = false;
  } else if (!overflow && (numel > kLimit / item)) {
    overflow = true;
  }
  if (overflow || numel * item != e.end - e.begin) {
    return BadTensor(
        path, name,
        absl::StrCat("size mismatch: shape ", ShapeString(e.shape), " of ", dt->get<std::string>(),
                     " needs ",
                     overflow ? std::string("more than 2^63") : absl::StrCat(numel * item),
                     " bytes, data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin));
  }
  return e;
}

}  // namespace

absl::StatusOr<at::ScalarType> SafetensorsDType(absl::string_view name) {
  for (const DTypeName& d : kDTypes) {
    if (name == d.name) return d.type;
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported dtype '", name, "'"));
}

absl::StatusOr<std::string> SafetensorsDTypeName(at::ScalarType type) {
  for (const DTypeName& d : kDTypes) {
    if (type == d.type) return std::string(d.name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("dtype ", c10::toString(type), " has no safetensors equivalent"));
}

absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(absl::string_view file,
                                                         const std::string& path) {
  if (file.size() < 8) {
    return Bad(path, absl::StrCat("truncated: ", file.size(),
                                  " bytes, too short for the 8-byte header length"));
  }
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);  // little-endian host (checked at compile time)
  if (n > file.size() - 8) {
    return Bad(path, absl::StrCat("header length ", n, " beyond the file (", file.size() - 8,
                                  " bytes after the length field); truncated file?"));
  }
  if (n > kMaxHeaderBytes) {
    return Bad(path,
               absl::StrCat("header length ", n, " exceeds the ", kMaxHeaderBytes, "-byte limit"));
  }
  if (n < 2) return Bad(path, "header too short to be a JSON object");
  Json header = Json::parse(file.data() + 8, file.data() + 8 + n, nullptr, /*allow_exceptions=*/
                            false);
  if (header.is_discarded()) return Bad(path, "header is not valid JSON");
  if (!header.is_object()) return Bad(path, "header is not a JSON object");

  SafetensorsHeader out;
  out.data_start = 8 + n;
  const uint64_t data_size = file.size() - out.data_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) return Bad(path, "'__metadata__' is not a JSON object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) {
          return Bad(path, absl::StrCat("'__metadata__' value of '", m.key(), "' is not a string"));
        }
        out.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    ASSIGN_OR_RETURN(SafetensorsEntry e, ParseEntry(path, it.key(), *it));
    if (e.end > data_size) {
      return BadTensor(path, e.name,
                       absl::StrCat("data_offsets [", e.begin, ", ", e.end,
                                    "] out of range: the data section has ", data_size,
                                    " bytes (truncated file?)"));
    }
    out.entries.push_back(std::move(e));
  }
  std::sort(out.entries.begin(), out.entries.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  uint64_t covered = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const SafetensorsEntry& e : out.entries) {
    if (e.begin < covered) {
      return BadTensor(path, e.name,
                       absl::StrCat("data_offsets [", e.begin, ", ", e.end, "] overlap tensor '",
                                    prev->name, "' [", prev->begin, ", ", prev->end, "]"));
    }
    if (e.begin > covered) {
      return BadTensor(path, e.name,
                       absl::StrCat("gap in the data section: bytes [", covered, ", ", e.begin,
                                    ") belong to no tensor"));
    }
    covered = e.end;
    prev = &e;
  }
  if (covered != data_size) {
    return Bad(path, absl::StrCat("data section has ", data_size, " bytes but tensors cover ",
                                  covered, " (trailing bytes)"));
  }
  return out;
}

absl::StatusOr<SafetensorsData> ParseSafetensors(absl::string_view file, const std::string& path) {
  ASSIGN_OR_RETURN(SafetensorsHeader header, ParseSafetensorsHeader(file, path));
  SafetensorsData out;
  out.metadata = std::move(header.metadata);
  RETURN_IF_ERROR(TorchCall(path, [&]() {
    for (const SafetensorsEntry& e : header.entries) {
      at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype));
      if (e.end > e.begin) {
        std::memcpy(t.data_ptr(), file.data() + header.data_start + e.begin, e.end - e.begin);
      }
      out.tensors.emplace(e.name, std::move(t));
    }
  }));
  return out;
}

absl::StatusOr<SafetensorsData> ReadSafetensors(const std::string& path) {
  ASSIGN_OR_RETURN(MappedFile map, MappedFile::Open(path));
  return ParseSafetensors(absl::string_view(map.data(), map.size()), path);
}

absl::StatusOr<std::string> SerializeSafetensors(
    const TensorMap& tensors, const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, at::Tensor>> cpu;
  std::string header = "{";
  uint64_t offset = 0;
  auto quote = [](const std::string& s) -> absl::StatusOr<std::string> {
    try {
      return Json(s).dump();
    } catch (const Json::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("name or metadata '", s, "' is not valid UTF-8"));
    }
  };
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      ASSIGN_OR_RETURN(std::string qk, quote(k));
      ASSIGN_OR_RETURN(std::string qv, quote(v));
      absl::StrAppend(&header, first ? "" : ",", qk, ":", qv);
      first = false;
    }
    header += "}";
  }
  for (const auto& entry : tensors) {
    // Named references, not a structured binding: lambdas below capture them (C++17, clang).
    const std::string& name = entry.first;
    const at::Tensor& tensor = entry.second;
    if (name == "__metadata__") {
      return absl::InvalidArgumentError("'__metadata__' is reserved and cannot name a tensor");
    }
    if (!tensor.defined()) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' is undefined"));
    }
    auto dtype_name = SafetensorsDTypeName(tensor.scalar_type());
    if (!dtype_name.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", name, "': ", dtype_name.status().message()));
    }
    at::Tensor t;
    RETURN_IF_ERROR(TorchCall(absl::StrCat("tensor '", name, "'"),
                              [&]() { t = tensor.detach().to(at::kCPU).contiguous(); }));
    const uint64_t bytes = t.numel() * t.element_size();
    ASSIGN_OR_RETURN(std::string qn, quote(name));
    absl::StrAppend(&header, header.size() > 1 ? "," : "", qn, ":{\"dtype\":\"", *dtype_name,
                    "\",\"shape\":[", absl::StrJoin(t.sizes(), ","), "],\"data_offsets\":[", offset,
                    ",", offset + bytes, "]}");
    offset += bytes;
    cpu.emplace_back(name, std::move(t));
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + header.size() + offset);
  uint64_t n = header.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += header;
  for (const auto& [name, t] : cpu) {
    out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  }
  return out;
}

absl::Status WriteSafetensors(const std::string& path, const TensorMap& tensors,
                              const std::map<std::string, std::string>& metadata) {
  auto bytes = SerializeSafetensors(tensors, metadata);
  if (!bytes.ok()) {
    return absl::Status(bytes.status().code(), absl::StrCat(path, ": ", bytes.status().message()));
  }
  return WriteFileAtomic(path, *bytes);
}

}  // namespace monoroute
