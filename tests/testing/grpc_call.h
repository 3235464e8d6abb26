// Test support: one unary or server-streaming gRPC call with an optional `authorization` header
// (for the tests of the services' bearer-token checks) or none, and a gMock matcher of the
// grpc::Status it returns. Header-only.
#ifndef MONOROUTE_TESTS_TESTING_GRPC_CALL_H_
#define MONOROUTE_TESTS_TESTING_GRPC_CALL_H_

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace monoroute::testing {

// Calls unary `rpc` of `stub` (e.g. &v1::Trainer::Stub::GetJob) with `req`, sending `header` as
// the authorization metadata ("": none); the reply in `resp` when given.
template <typename Stub, typename Req, typename Resp>
grpc::Status CallWithAuth(Stub* stub,
                          grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
                          const std::string& header, const Req& req, Resp* resp = nullptr) {
  grpc::ClientContext ctx;
  if (!header.empty()) ctx.AddMetadata("authorization", header);
  Resp ignored;
  return (stub->*rpc)(&ctx, req, resp != nullptr ? resp : &ignored);
}

// Calls unary `rpc` of `stub` with `req` as CallWithAuth does, without authorization metadata.
template <typename Stub, typename Req, typename Resp>
grpc::Status Call(Stub* stub, grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
                  const Req& req, Resp* resp = nullptr) {
  return CallWithAuth(stub, rpc, "", req, resp);
}

// Matches a grpc::Status whose code is `code` and whose message matches `message` (a string or a
// string matcher), e.g. EXPECT_THAT(s, GrpcStatusIs(grpc::StatusCode::NOT_FOUND,
// HasSubstr("run"))).
MATCHER_P2(GrpcStatusIs, code, message, "") {
  *result_listener << "whose status is " << arg.error_code() << ": " << arg.error_message();
  return arg.error_code() == code &&
         ::testing::ExplainMatchResult(message, arg.error_message(), result_listener);
}

// Calls server-streaming `rpc` of `stub` (e.g. &v1::Recorder::Stub::GetCounts) with `req` and
// `header` as CallWithAuth does, reads (and drops) every message and returns the final status.
template <typename Stub, typename Req, typename Item>
grpc::Status DrainWithAuth(
    Stub* stub,
    std::unique_ptr<grpc::ClientReader<Item>> (Stub::*rpc)(grpc::ClientContext*, const Req&),
    const std::string& header, const Req& req) {
  grpc::ClientContext ctx;
  if (!header.empty()) ctx.AddMetadata("authorization", header);
  std::unique_ptr<grpc::ClientReader<Item>> reader = (stub->*rpc)(&ctx, req);
  Item item;
  while (reader->Read(&item)) {
  }
  return reader->Finish();
}

}  // namespace monoroute::testing

#endif  // MONOROUTE_TESTS_TESTING_GRPC_CALL_H_
