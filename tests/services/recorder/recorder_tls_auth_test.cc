// The monoroute-recorder binary with TLS, mutual TLS and bearer tokens (a PKI made by openssl in
// a temp dir): TLS round trips (stub and RecorderWriter), plaintext refused on the TLS port, a
// client without a certificate refused under mutual TLS, every write RPC (CreateRun, Record,
// DeleteRun, FinishRun) refusing missing/malformed/lowercase/trailing-space/wrong tokens and
// accepting the right one, --auth-reads on the reads, a 100,000-character run id answered with a
// short INVALID_ARGUMENT, the receive limit, and unusable TLS files failing the start.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "services/recorder/proto_convert.h"
#include "services/recorder/recorder_client.h"
#include "tests/common/service/service_test_util.h"
#include "tests/services/recorder/recorder_grpc_test_util.h"
#include "tests/testing/grpc_call.h"

namespace monoroute::recorder {
namespace {

namespace mt = ::monoroute::testing;
using testing::MakeBatch;
using testing::TestSpec;

using RecorderStub = v1::Recorder::Stub;

const char kBinary[] = MONOROUTE_BIN_DIR "/monoroute-recorder";

class RecorderTlsAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new mt::TempDir();
    pki_ = new mt::TestPki();
    std::string error;
    if (!mt::MakeTestPki(dir_->Sub("pki"), pki_, &error)) error_ = new std::string(error);
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
    delete error_;
  }
  void SetUp() override { ASSERT_EQ(error_, nullptr) << *error_; }

  // Starts a recorder with a fresh data dir and `flags`.
  void StartRecorder(std::vector<std::string> flags) {
    static int n = 0;
    const std::string data = dir_->Sub("db" + std::to_string(++n));
    flags.insert(flags.begin(), {"--data-dir", data, "--shutdown-grace-ms", "200"});
    ASSERT_TRUE(recorder_.Start(kBinary, flags, data + ".log")) << recorder_.Log();
  }
  std::vector<std::string> TlsFlags(bool mutual) const {
    std::vector<std::string> f = {"--tls-cert", pki_->Cert("recorder"), "--tls-key",
                                  pki_->Key("recorder")};
    if (mutual) f.insert(f.end(), {"--tls-client-ca", pki_->ca});
    return f;
  }
  std::unique_ptr<v1::Recorder::Stub> Stub(const ChannelTlsOptions& tls = {}) {
    return v1::Recorder::NewStub(mt::MakeChannel(recorder_.address(), tls));
  }

  static mt::TempDir* dir_;
  static mt::TestPki* pki_;
  static std::string* error_;
  mt::ChildService recorder_;
};

mt::TempDir* RecorderTlsAuthTest::dir_ = nullptr;
mt::TestPki* RecorderTlsAuthTest::pki_ = nullptr;
std::string* RecorderTlsAuthTest::error_ = nullptr;

// How a test call presents its token.
struct Presented {
  const char* what;
  std::string header;  // "" = no authorization metadata
};

std::vector<Presented> BadHeaders(const std::string& token) {
  return {{"missing", ""},
          {"no scheme", token},
          {"lowercase scheme", "bearer " + token},
          {"trailing space", "Bearer " + token + " "},
          {"wrong token", "Bearer not-the-token"}};
}

// A request of type Req naming `run_id` (every run-scoped request has a run_id field).
template <typename Req>
Req ForRun(const std::string& run_id) {
  Req req;
  req.set_run_id(run_id);
  return req;
}

grpc::Status CreateRun(v1::Recorder::Stub* stub, const std::string& run_id,
                       const std::string& header) {
  return mt::CallWithAuth(stub, &v1::Recorder::Stub::CreateRun, header,
                          testing::TestSpecProto(run_id));
}

grpc::Status Record(v1::Recorder::Stub* stub, const events::RoutingEventBatch& batch,
                    const std::string& header) {
  grpc::ClientContext ctx;
  if (!header.empty()) ctx.AddMetadata("authorization", header);
  auto stream = stub->Record(&ctx);
  v1::EventBatch m;
  ToProto(batch.view(), &m);
  stream->Write(m);
  stream->WritesDone();
  v1::BatchAck ack;
  while (stream->Read(&ack)) {
  }
  return stream->Finish();
}

// Calls the run-scoped unary `rpc` (e.g. &RecorderStub::GetRun) with a request naming `run_id`,
// `header` as the authorization metadata; the reply in `out` when given.
template <typename Req, typename Resp>
grpc::Status OnRun(RecorderStub* stub,
                   grpc::Status (RecorderStub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
                   const std::string& run_id, const std::string& header, Resp* out = nullptr) {
  return mt::CallWithAuth(stub, rpc, header, ForRun<Req>(run_id), out);
}

// Calls the run-scoped server-streaming `rpc` (e.g. &RecorderStub::GetCounts) as OnRun does,
// draining its messages.
template <typename Req, typename Item>
grpc::Status OnRun(RecorderStub* stub,
                   std::unique_ptr<grpc::ClientReader<Item>> (RecorderStub::*rpc)(
                       grpc::ClientContext*, const Req&),
                   const std::string& run_id, const std::string& header) {
  return mt::DrainWithAuth(stub, rpc, header, ForRun<Req>(run_id));
}

// One RPC called with a given authorization header ("": none).
using Call = std::function<grpc::Status(const std::string& header)>;

// A Call of the run-scoped `rpc` (unary or streaming, as OnRun takes it) on `run_id`.
template <typename Rpc>
Call OnRunCall(RecorderStub* stub, Rpc rpc, const std::string& run_id) {
  return [=](const std::string& header) { return OnRun(stub, rpc, run_id, header); };
}

grpc::Status ListRuns(v1::Recorder::Stub* stub, const std::string& header) {
  return mt::CallWithAuth(stub, &v1::Recorder::Stub::ListRuns, header, v1::ListRunsRequest());
}

TEST_F(RecorderTlsAuthTest, TlsRoundTripAndPlaintextRefused) {
  StartRecorder(TlsFlags(false));
  EXPECT_NE(recorder_.Log().find(", TLS, no auth"), std::string::npos) << recorder_.Log();
  auto stub = Stub(mt::ClientTls(*pki_, false));
  ASSERT_TRUE(CreateRun(stub.get(), "tls-run", "").ok());
  grpc::Status rec = Record(stub.get(), MakeBatch(TestSpec("tls-run"), "w", 1, 128, 1, 7), "");
  ASSERT_TRUE(rec.ok()) << rec.error_message();
  v1::RunSummary sum;
  ASSERT_TRUE(OnRun(stub.get(), &RecorderStub::GetRun, "tls-run", "", &sum).ok());
  EXPECT_EQ(sum.events(), 128u);

  grpc::Status plain = ListRuns(Stub().get(), "");
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();
}

TEST_F(RecorderTlsAuthTest, MutualTlsWithTheWriterAndNoCertificateRefused) {
  std::vector<std::string> flags = TlsFlags(true);
  flags.insert(flags.end(), {"--auth-token-file", pki_->TokenFile("recorder")});
  StartRecorder(flags);
  EXPECT_NE(recorder_.Log().find(", mutual TLS, auth on writes"), std::string::npos)
      << recorder_.Log();

  RecorderWriterOptions wo;
  wo.address = recorder_.address();
  wo.writer_id = "tls-writer";
  wo.bearer_token = pki_->Token("recorder");
  wo.tls = mt::ClientTls(*pki_, true);
  wo.rpc_timeout = std::chrono::milliseconds(5000);
  auto writer = RecorderWriter::Create(wo);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const RunSpecLite spec = testing::TestSpecProto("mtls-run");
  ASSERT_TRUE((*writer)->CreateRun(spec).ok());
  for (uint64_t seq = 0; seq < 3; ++seq) {
    events::RoutingEventBatch b = MakeBatch(TestSpec("mtls-run"), "tls-writer", seq, 64, seq, 3);
    ASSERT_TRUE((*writer)->Append(b.view()));
  }
  absl::Status flushed = (*writer)->Flush(std::chrono::seconds(30));
  ASSERT_TRUE(flushed.ok()) << flushed;
  EXPECT_EQ((*writer)->stats().events_acked, 3u * 64);
  ASSERT_TRUE((*writer)->FinishRun("mtls-run", std::chrono::seconds(10)).ok());

  // Without a client certificate: refused at the handshake (stub and writer alike).
  EXPECT_EQ(ListRuns(Stub(mt::ClientTls(*pki_, false)).get(), "").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  RecorderWriterOptions no_cert = wo;
  no_cert.tls = mt::ClientTls(*pki_, false);
  no_cert.rpc_timeout = std::chrono::milliseconds(2000);
  auto w2 = RecorderWriter::Create(no_cert);
  ASSERT_TRUE(w2.ok());
  EXPECT_FALSE((*w2)->CreateRun(spec).ok());
  // With the certificate: reads need no token (no --auth-reads).
  v1::RunSummary sum;
  ASSERT_TRUE(
      OnRun(Stub(mt::ClientTls(*pki_, true)).get(), &RecorderStub::GetRun, "mtls-run", "", &sum)
          .ok());
  EXPECT_EQ(sum.events(), 3u * 64);
  EXPECT_TRUE(sum.finished());
}

TEST_F(RecorderTlsAuthTest, EveryWriteRpcNeedsTheExactBearerToken) {
  StartRecorder({"--auth-token-file", pki_->TokenFile("recorder")});
  const std::string token = pki_->Token("recorder");
  const std::string right = "Bearer " + token;
  auto stub = Stub();
  const std::vector<std::pair<const char*, Call>> calls = {
      {"CreateRun", [&](const std::string& h) { return CreateRun(stub.get(), "run-a", h); }},
      {"Record",
       [&](const std::string& h) {
         return Record(stub.get(), MakeBatch(TestSpec("run-a"), "w", 1, 8, 1, 5), h);
       }},
      {"FinishRun", OnRunCall(stub.get(), &RecorderStub::FinishRun, "run-a")},
      {"DeleteRun", OnRunCall(stub.get(), &RecorderStub::DeleteRun, "run-a")},
  };
  for (const auto& [name, call] : calls) {
    for (const Presented& p : BadHeaders(token)) {
      grpc::Status s = call(p.header);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << name << ", " << p.what;
      EXPECT_EQ(s.error_message().find(token), std::string::npos) << name;
      EXPECT_EQ(s.error_message().find("not-the-token"), std::string::npos) << name;
    }
    grpc::Status ok = call(right);
    EXPECT_TRUE(ok.ok()) << name << ": " << ok.error_message();
  }
  // Reads need no token without --auth-reads.
  EXPECT_TRUE(ListRuns(stub.get(), "").ok());
}

TEST_F(RecorderTlsAuthTest, AuthReadsCoversEveryRead) {
  StartRecorder({"--auth-token-file", pki_->TokenFile("recorder"), "--auth-reads"});
  EXPECT_NE(recorder_.Log().find("auth on every RPC"), std::string::npos) << recorder_.Log();
  const std::string right = "Bearer " + pki_->Token("recorder");
  auto stub = Stub();
  ASSERT_TRUE(CreateRun(stub.get(), "run-r", right).ok());
  ASSERT_TRUE(Record(stub.get(), MakeBatch(TestSpec("run-r"), "w", 1, 8, 1, 5), right).ok());
  const std::vector<std::pair<const char*, Call>> reads = {
      {"GetRun", OnRunCall(stub.get(), &RecorderStub::GetRun, "run-r")},
      {"ListRuns", [&](const std::string& h) { return ListRuns(stub.get(), h); }},
      {"GetTotals", OnRunCall(stub.get(), &RecorderStub::GetTotals, "run-r")},
      {"GetCounts", OnRunCall(stub.get(), &RecorderStub::GetCounts, "run-r")},
      {"QueryEvents", OnRunCall(stub.get(), &RecorderStub::QueryEvents, "run-r")},
  };
  for (const auto& [name, call] : reads) {
    EXPECT_EQ(call("").error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
    EXPECT_EQ(call("bearer x").error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
    grpc::Status ok = call(right);
    EXPECT_TRUE(ok.ok()) << name << ": " << ok.error_message();
  }
}

TEST_F(RecorderTlsAuthTest, HugeRunIdIsAShortInvalidArgument) {
  StartRecorder({});
  auto stub = Stub();
  const std::string huge(100000, 'r');
  auto expect_short = [](const grpc::Status& s, const char* what) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << what << ": " << s.error_message().size();
    EXPECT_LT(s.error_message().size(), 300u) << what;
    EXPECT_NE(s.error_message().find("(100000 bytes)"), std::string::npos)
        << what << ": " << s.error_message();
  };
  expect_short(CreateRun(stub.get(), huge, ""), "CreateRun");
  events::RoutingEventBatch b = MakeBatch(TestSpec("x"), "w", 1, 4, 1, 1);
  b.header.run_id = huge;
  expect_short(Record(stub.get(), b, ""), "Record");
  expect_short(OnRun(stub.get(), &RecorderStub::GetRun, huge, ""), "GetRun");
  expect_short(OnRun(stub.get(), &RecorderStub::GetTotals, huge, ""), "GetTotals");
  expect_short(OnRun(stub.get(), &RecorderStub::GetCounts, huge, ""), "GetCounts");
  expect_short(OnRun(stub.get(), &RecorderStub::QueryEvents, huge, ""), "QueryEvents");
  expect_short(OnRun(stub.get(), &RecorderStub::FinishRun, huge, ""), "FinishRun");
  expect_short(OnRun(stub.get(), &RecorderStub::DeleteRun, huge, ""), "DeleteRun");
}

TEST_F(RecorderTlsAuthTest, ReceiveLimitRefusesBiggerMessages) {
  StartRecorder({"--max-receive-mb", "1"});
  auto stub = Stub();
  ASSERT_TRUE(CreateRun(stub.get(), "big", "").ok());
  const events::RoutingEventBatch big = MakeBatch(TestSpec("big"), "w", 1, 80000, 1, 1);
  v1::EventBatch m;
  ToProto(big.view(), &m);
  ASSERT_GT(m.ByteSizeLong(), size_t{1} << 20);
  grpc::Status s = Record(stub.get(), big, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_TRUE(Record(stub.get(), MakeBatch(TestSpec("big"), "w", 2, 500, 1, 1), "").ok());
}

TEST_F(RecorderTlsAuthTest, UnusableTlsFilesOrTokenFailTheStart) {
  mt::ChildService bad;
  EXPECT_FALSE(bad.Start(kBinary,
                         {"--data-dir", dir_->Sub("bad1"), "--tls-cert", dir_->Sub("absent.crt"),
                          "--tls-key", pki_->Key("recorder")},
                         dir_->Sub("bad1.log")));
  EXPECT_EQ(bad.WaitExit(std::chrono::seconds(10)), 1);
  EXPECT_NE(bad.Log().find("--tls-cert " + dir_->Sub("absent.crt")), std::string::npos)
      << bad.Log();

  mt::ChildService bad_token;
  EXPECT_FALSE(bad_token.Start(
      kBinary, {"--data-dir", dir_->Sub("bad2"), "--auth-token-file", dir_->Sub("absent.token")},
      dir_->Sub("bad2.log")));
  EXPECT_EQ(bad_token.WaitExit(std::chrono::seconds(10)), 2);
  EXPECT_NE(bad_token.Log().find("--auth-token-file"), std::string::npos) << bad_token.Log();
}

}  // namespace
}  // namespace monoroute::recorder
