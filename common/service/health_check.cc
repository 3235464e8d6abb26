// grpc.health.v1.Health/Check over a generic stub (see health_check.h).
#include "common/service/health_check.h"

#include <grpcpp/generic/generic_stub.h>

#include <future>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/enum_names.h"
#include "common/service/grpc_status.h"

namespace monoroute {
namespace {

// The statuses by their grpc.health.v1 names.
constexpr EnumNames<ServingStatus, 4> kServingStatusNames = {
    {{ServingStatus::kUnknown, "UNKNOWN"},
     {ServingStatus::kServing, "SERVING"},
     {ServingStatus::kNotServing, "NOT_SERVING"},
     {ServingStatus::kServiceUnknown, "SERVICE_UNKNOWN"}}};

// HealthCheckRequest{service}: field 1, length-delimited.
std::string EncodeRequest(const std::string& service) {
  if (service.empty()) return "";
  std::string out = "\x0a";
  uint64_t n = service.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  return out + service;
}

bool ReadVarint(const std::string& b, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *pos < b.size(); shift += 7) {
    const uint8_t c = static_cast<uint8_t>(b[(*pos)++]);
    *v |= static_cast<uint64_t>(c & 0x7f) << shift;
    if ((c & 0x80) == 0) return true;
  }
  return false;
}

// HealthCheckResponse{status}: field 1, varint; other fields skipped.
absl::StatusOr<ServingStatus> DecodeResponse(const std::string& b) {
  uint64_t status = 0;
  size_t pos = 0;
  while (pos < b.size()) {
    uint64_t key = 0, v = 0;
    if (!ReadVarint(b, &pos, &key)) break;
    const uint64_t field = key >> 3, wire = key & 7;
    if (wire == 0) {
      if (!ReadVarint(b, &pos, &v)) break;
      if (field == 1) status = v;
    } else if (wire == 2) {
      if (!ReadVarint(b, &pos, &v) || v > b.size() - pos) break;
      pos += v;
    } else {
      return absl::InternalError("health check: malformed response");
    }
  }
  if (pos != b.size() || status > 3) {
    return absl::InternalError("health check: malformed response");
  }
  return static_cast<ServingStatus>(status);
}

}  // namespace

const char* ServingStatusName(ServingStatus status) {
  return NameOf(kServingStatusNames, status, "UNKNOWN");
}

absl::StatusOr<ServingStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                          const std::string& service,
                                          std::chrono::milliseconds timeout) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  const std::string request = EncodeRequest(service);
  grpc::Slice slice(request.data(), request.size());
  grpc::ByteBuffer req(&slice, 1), resp;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  const grpc::Status s = done.get_future().get();
  if (!s.ok()) return FromGrpcStatus(s);
  std::vector<grpc::Slice> slices;
  if (!resp.Dump(&slices).ok()) return absl::InternalError("health check: unreadable response");
  std::string bytes;
  for (const grpc::Slice& sl : slices) {
    bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  }
  return DecodeResponse(bytes);
}

absl::StatusOr<std::function<absl::Status()>> MakeHealthProbe(const std::string& what,
                                                              const std::string& address,
                                                              const ChannelTlsOptions& tls,
                                                              const std::string& service,
                                                              std::chrono::milliseconds timeout) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateServiceChannel(address, tls);
  if (!channel.ok()) return channel.status();
  std::shared_ptr<grpc::Channel> ch = *channel;
  return std::function<absl::Status()>([what, address, service, timeout, ch]() -> absl::Status {
    absl::StatusOr<ServingStatus> s = CheckHealth(ch, service, timeout);
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat(what, " at ", address, " is unreachable: ", s.status().message()));
    }
    if (*s != ServingStatus::kServing) {
      return absl::UnavailableError(
          absl::StrCat(what, " at ", address, " is ", ServingStatusName(*s)));
    }
    return absl::OkStatus();
  });
}

}  // namespace monoroute
