// Tests of the recorder gRPC service over real gRPC on 127.0.0.1 with a temporary data dir:
// counts vs brute force, duplicates, concurrent streams, bad input codes with nothing written,
// auth, restart, queries, deletion, finishing a run and metrics.
#include "services/recorder/recorder_service.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "tests/services/recorder/recorder_grpc_test_util.h"
#include "tests/testing/grpc_call.h"

namespace monoroute::recorder {
namespace {

using testing::BruteCounts;
using ::testing::HasSubstr;
using testing::InProcessRecorder;
using testing::MakeBatch;
using testing::SendBatches;
using testing::TestSpec;
using testing::TestSpecProto;

// `n` batches of `tokens` tokens of writer "w" to run "r1" (batch s at step s), each added to
// `ref`.
std::vector<events::RoutingEventBatch> R1Batches(uint64_t n, size_t tokens, BruteCounts* ref) {
  std::vector<events::RoutingEventBatch> batches;
  for (uint64_t s = 0; s < n; ++s) {
    batches.push_back(MakeBatch(TestSpec("r1"), "w", s, tokens, s, s));
    ref->Add(batches.back(), 4);
  }
  return batches;
}

class RecorderServiceTest : public ::testing::Test {
 protected:
  void StartServer(RecorderServiceOptions so = {}, RecorderStoreOptions st = {},
                   int max_msg = 64 << 20) {
    so.counts_chunk_entries = 500;  // several chunks per layer
    st.max_batch_events = 50000;
    server_ = std::make_unique<InProcessRecorder>(dir_.Sub("db"), so, st, max_msg);
    ASSERT_TRUE(server_->Start());
    stub_ = server_->NewStub();
  }
  void SetUp() override { StartServer(); }

  // The authorization header for bearer `token` ("" when none).
  static std::string Bearer(const std::string& token) {
    return token.empty() ? "" : "Bearer " + token;
  }

  grpc::Status CreateRun(const std::string& run, const std::string& token = "",
                         bool* created = nullptr) {
    v1::CreateRunResponse resp;
    grpc::Status s = ::monoroute::testing::CallWithAuth(stub_.get(), &v1::Recorder::Stub::CreateRun,
                                                        Bearer(token), TestSpecProto(run), &resp);
    if (created != nullptr) *created = resp.created();
    return s;
  }

  // Streams GetCounts and merges the chunks into (pathway, token) -> count.
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> Counts(const std::string& run, uint32_t layer,
                                                           grpc::Status* status = nullptr,
                                                           int* chunks = nullptr) {
    grpc::ClientContext ctx;
    v1::CountsRequest req;
    req.set_run_id(run);
    req.set_layer(layer);
    auto reader = stub_->GetCounts(&ctx, req);
    v1::CountsChunk ch;
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> out;
    int n = 0;
    while (reader->Read(&ch)) {
      ++n;
      for (int i = 0; i < ch.count_size(); ++i) out[{ch.pathway(i), ch.token_id(i)}] += ch.count(i);
    }
    grpc::Status s = reader->Finish();
    if (status != nullptr) *status = s;
    if (chunks != nullptr) *chunks = n;
    return out;
  }

  grpc::Status FinishRun(const std::string& run, v1::RunSummary* out = nullptr,
                         const std::string& token = "") {
    v1::FinishRunRequest req;
    req.set_run_id(run);
    return ::monoroute::testing::CallWithAuth(stub_.get(), &v1::Recorder::Stub::FinishRun,
                                              Bearer(token), req, out);
  }

  v1::RunSummary GetRun(const std::string& run, grpc::Status* status = nullptr) {
    v1::GetRunRequest req;
    req.set_run_id(run);
    v1::RunSummary s;
    grpc::Status st =
        ::monoroute::testing::CallWithAuth(stub_.get(), &v1::Recorder::Stub::GetRun, "", req, &s);
    if (status != nullptr) *status = st;
    return s;
  }

  void ExpectMatches(const std::string& run, const BruteCounts& ref) {
    for (uint32_t layer : {0u, 2u, 4u, 6u}) {
      grpc::Status s;
      EXPECT_EQ(Counts(run, layer, &s), ref.Layer(layer)) << "layer " << layer;
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    EXPECT_EQ(GetRun(run).events(), ref.events);
  }

  testing::TempDir dir_;
  std::unique_ptr<InProcessRecorder> server_;
  std::unique_ptr<v1::Recorder::Stub> stub_;
};

TEST_F(RecorderServiceTest, CountsAndTotalsMatchBruteForce) {
  bool created = false;
  ASSERT_TRUE(CreateRun("r1", "", &created).ok());
  EXPECT_TRUE(created);
  ASSERT_TRUE(CreateRun("r1", "", &created).ok());
  EXPECT_FALSE(created);
  std::vector<events::RoutingEventBatch> batches;
  BruteCounts ref;
  for (uint64_t s = 0; s < 8; ++s) {
    batches.push_back(MakeBatch(TestSpec("r1"), "w", s, 300, s * 3, s, s % 2 ? "valid" : ""));
    ref.Add(batches.back(), 4);
  }
  auto r = SendBatches(stub_.get(), batches);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_EQ(r.acks.size(), 8u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(r.acks[i].batch_seq(), i);  // in order
    EXPECT_FALSE(r.acks[i].duplicate());
    EXPECT_EQ(r.acks[i].events(), 300u);
  }
  ExpectMatches("r1", ref);
  int chunks = 0;
  Counts("r1", 0, nullptr, &chunks);
  EXPECT_GT(chunks, 1);

  grpc::ClientContext ctx;
  v1::TotalsRequest tr;
  tr.set_run_id("r1");
  tr.set_layer(6);
  v1::TotalsResponse tot;
  ASSERT_TRUE(stub_->GetTotals(&ctx, tr, &tot).ok());
  EXPECT_EQ(tot.tokens(), ref.tokens.at(6));
  ASSERT_EQ(tot.pathway_count_size(), 16);
  for (uint32_t p = 0; p < 16; ++p) {
    EXPECT_NEAR(tot.pathway_weight(p), (ref.weight.at({6, p})), 1e-3);
  }
  v1::RunSummary sum = GetRun("r1");
  EXPECT_EQ(sum.batches(), 8u);
  EXPECT_EQ(sum.max_step(), 21u);
  EXPECT_EQ(sum.watermark(), 8u);
  EXPECT_EQ(sum.spec().num_pathways(), 16u);
  EXPECT_EQ(sum.splits_size(), 2);

  grpc::ClientContext lctx;
  v1::ListRunsResponse list;
  ASSERT_TRUE(stub_->ListRuns(&lctx, v1::ListRunsRequest(), &list).ok());
  ASSERT_EQ(list.runs_size(), 1);
  EXPECT_EQ(list.runs(0).events(), ref.events);
}

// Issue 23: ListRuns pages (page_size, page_token, a byte bound per response) and bounded labels
// over gRPC; issue 22: counts and totals name the splits they hold, controls only when named.
TEST_F(RecorderServiceTest, ListRunsPagesBoundedLabelsAndSplitsOfResults) {
  RecorderServiceOptions so;
  so.list_runs_max_bytes = 30000;  // about 3 runs with 12 KB of labels each
  stub_.reset();
  server_.reset();
  StartServer(so);
  for (int i = 0; i < 7; ++i) {
    v1::RunSpec spec = TestSpecProto("run-" + std::to_string(i));
    for (int l = 0; l < 3; ++l)
      (*spec.mutable_labels())["l" + std::to_string(l)] = std::string(4000, 'v');
    grpc::ClientContext ctx;
    v1::CreateRunResponse resp;
    ASSERT_TRUE(stub_->CreateRun(&ctx, spec, &resp).ok());
  }
  std::vector<std::string> ids;
  v1::ListRunsRequest req;
  int pages = 0;
  do {
    grpc::ClientContext ctx;
    v1::ListRunsResponse resp;
    ASSERT_TRUE(stub_->ListRuns(&ctx, req, &resp).ok());
    EXPECT_LE(resp.ByteSizeLong(), 30000u + 13000u);
    for (const auto& r : resp.runs()) ids.push_back(r.spec().run_id());
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!req.page_token().empty());
  EXPECT_GE(pages, 3);
  EXPECT_EQ(ids, (std::vector<std::string>{"run-0", "run-1", "run-2", "run-3", "run-4", "run-5",
                                           "run-6"}));
  {
    grpc::ClientContext ctx;
    v1::ListRunsRequest bad;
    bad.set_page_size(5000);
    v1::ListRunsResponse resp;
    grpc::Status st = stub_->ListRuns(&ctx, bad, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("page_size"));
  }
  {
    v1::RunSpec spec = TestSpecProto("fat");
    (*spec.mutable_labels())["note"] = std::string(10 << 20, 'x');
    grpc::ClientContext ctx;
    v1::CreateRunResponse resp;
    grpc::Status st = stub_->CreateRun(&ctx, spec, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("labels['note'] value has 10485760 bytes"));
  }

  std::vector<events::RoutingEventBatch> batches;
  BruteCounts trained;
  uint64_t seq = 0;
  for (const char* split : {"valid", "valid/fresh_routers"}) {
    batches.push_back(MakeBatch(TestSpec("run-0"), "w", seq, 50, seq, 9 + seq, split, 1));
    if (std::string(split) == "valid") trained.Add(batches.back(), 4);
    ++seq;
  }
  ASSERT_TRUE(SendBatches(stub_.get(), batches).status.ok());
  for (const std::string& split : {std::string(), std::string("valid/fresh_routers")}) {
    grpc::ClientContext ctx;
    v1::CountsRequest creq;
    creq.set_run_id("run-0");
    creq.set_layer(2);
    creq.set_split(split);
    auto reader = stub_->GetCounts(&ctx, creq);
    v1::CountsChunk ch;
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> got;
    while (reader->Read(&ch)) {
      ASSERT_EQ(ch.splits_size(), 1);
      EXPECT_EQ(ch.splits(0), split.empty() ? "valid" : split);
      for (int i = 0; i < ch.count_size(); ++i) got[{ch.pathway(i), ch.token_id(i)}] += ch.count(i);
    }
    ASSERT_TRUE(reader->Finish().ok());
    if (split.empty()) EXPECT_EQ(got, trained.Layer(2));
  }
  grpc::ClientContext ctx;
  v1::TotalsRequest tr;
  tr.set_run_id("run-0");
  tr.set_layer(2);
  v1::TotalsResponse tot;
  ASSERT_TRUE(stub_->GetTotals(&ctx, tr, &tot).ok());
  EXPECT_EQ(tot.tokens(), 50u);
  ASSERT_EQ(tot.splits_size(), 1);
  EXPECT_EQ(tot.splits(0), "valid");
}

TEST_F(RecorderServiceTest, DuplicateBatchIsAppliedOnce) {
  ASSERT_TRUE(CreateRun("r1").ok());
  events::RoutingEventBatch b = MakeBatch(TestSpec("r1"), "w", 3, 100, 1, 1);
  auto r = SendBatches(stub_.get(), {b, b});
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.acks.size(), 2u);
  EXPECT_FALSE(r.acks[0].duplicate());
  EXPECT_TRUE(r.acks[1].duplicate());
  auto again = SendBatches(stub_.get(), {b});  // e.g. re-sent after a lost ack
  ASSERT_EQ(again.acks.size(), 1u);
  EXPECT_TRUE(again.acks[0].duplicate());
  BruteCounts ref;
  ref.Add(b, 4);
  ExpectMatches("r1", ref);
  EXPECT_EQ(testing::MetricValue(server_->registry(), "monoroute_recorder_duplicate_batches_total"),
            2);
  EXPECT_EQ(testing::MetricValue(server_->registry(), "monoroute_recorder_events_ingested_total"),
            100);
}

TEST_F(RecorderServiceTest, ConcurrentStreamsForSameAndDifferentRuns) {
  ASSERT_TRUE(CreateRun("a").ok());
  ASSERT_TRUE(CreateRun("b").ok());
  std::vector<std::vector<events::RoutingEventBatch>> per_writer(6);
  BruteCounts ref_a, ref_b;
  for (int w = 0; w < 6; ++w) {
    std::string run = w % 2 ? "b" : "a";
    for (uint64_t s = 0; s < 6; ++s) {
      per_writer[w].push_back(
          MakeBatch(TestSpec(run), "w" + std::to_string(w), s, 120, s, w * 31 + s));
      (w % 2 ? ref_b : ref_a).Add(per_writer[w].back(), 4);
    }
  }
  std::vector<std::thread> threads;
  for (int w = 0; w < 6; ++w) {
    threads.emplace_back([&, w] {
      auto stub = server_->NewStub();
      auto r = SendBatches(stub.get(), per_writer[w]);
      EXPECT_TRUE(r.status.ok()) << r.status.error_message();
      EXPECT_EQ(r.acks.size(), 6u);
    });
  }
  for (auto& t : threads) t.join();
  ExpectMatches("a", ref_a);
  ExpectMatches("b", ref_b);
}

TEST_F(RecorderServiceTest, BadBatchEndsStreamWithCodeAndWritesNothing) {
  ASSERT_TRUE(CreateRun("r1").ok());
  events::RoutingEventBatch good0 = MakeBatch(TestSpec("r1"), "w", 0, 20, 1, 1);
  events::RoutingEventBatch bad = MakeBatch(TestSpec("r1"), "w", 7, 20, 1, 2);
  bad.weights[12] = NAN;
  events::RoutingEventBatch good2 = MakeBatch(TestSpec("r1"), "w", 8, 20, 1, 3);
  auto r = SendBatches(stub_.get(), {good0, bad, good2});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.status.error_message(), "batch 7: weights[12] is not finite");
  ASSERT_EQ(r.acks.size(), 1u);
  EXPECT_EQ(r.acks[0].batch_seq(), 0u);
  BruteCounts ref;
  ref.Add(good0, 4);
  ExpectMatches("r1", ref);

  struct Case {
    std::function<void(events::RoutingEventBatch&)> mutate;
    grpc::StatusCode code;
    std::string msg;
  };
  std::vector<Case> cases = {
      {[](events::RoutingEventBatch& b) { b = events::RoutingEventBatch{{}, b.header}; },
       grpc::StatusCode::INVALID_ARGUMENT, "batch 9: empty batch"},
      {[](events::RoutingEventBatch& b) { b.next_token_id.pop_back(); },
       grpc::StatusCode::INVALID_ARGUMENT, "next_token_id has"},
      {[](events::RoutingEventBatch& b) { b.header.layer = 3; }, grpc::StatusCode::INVALID_ARGUMENT,
       "batch 9: layer 3 is not a routed layer"},
      {[](events::RoutingEventBatch& b) { b.header.top_k = 0; }, grpc::StatusCode::INVALID_ARGUMENT,
       "batch 9: top_k 0 must be in 1..256"},
      {[](events::RoutingEventBatch& b) { b.pathways[5] = 16; }, grpc::StatusCode::INVALID_ARGUMENT,
       "pathways[5] = 16"},
      {[](events::RoutingEventBatch& b) { b.token_id[4] = 1000; },
       grpc::StatusCode::INVALID_ARGUMENT, "token_id[4] = 1000"},
      {[](events::RoutingEventBatch& b) { b.header.run_id = "ghost"; }, grpc::StatusCode::NOT_FOUND,
       "unknown run 'ghost'"},
      {[](events::RoutingEventBatch& b) { b = MakeBatch(TestSpec("r1"), "w", 9, 50001, 1, 1); },
       grpc::StatusCode::RESOURCE_EXHAUSTED, "exceed the limit of 50000"},
  };
  for (const Case& c : cases) {
    events::RoutingEventBatch b = good2;
    b.header.batch_id = 9;
    c.mutate(b);
    auto rr = SendBatches(stub_.get(), {b});
    EXPECT_EQ(rr.status.error_code(), c.code) << rr.status.error_message();
    EXPECT_THAT(rr.status.error_message(), HasSubstr(c.msg));
    EXPECT_TRUE(rr.acks.empty());
  }
  ExpectMatches("r1", ref);
  EXPECT_EQ(GetRun("r1").batches(), 1u);
  EXPECT_EQ(testing::MetricValue(server_->registry(), "monoroute_recorder_rejected_batches_total",
                                 "reason", "invalid_argument"),
            7);
  EXPECT_EQ(testing::MetricValue(server_->registry(), "monoroute_recorder_rejected_batches_total",
                                 "reason", "not_found"),
            1);
  // Queries on unknown runs / layers.
  grpc::Status s;
  GetRun("ghost", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  Counts("ghost", 0, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  Counts("r1", 1, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RecorderServiceTest, OversizeMessageIsResourceExhausted) {
  server_.reset();
  StartServer({}, {}, 256 << 10);
  ASSERT_TRUE(CreateRun("r1").ok());
  auto r = SendBatches(stub_.get(), {MakeBatch(TestSpec("r1"), "w", 0, 32000, 1, 1)});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(GetRun("r1").events(), 0u);
}

TEST_F(RecorderServiceTest, BearerTokenRequiredOnWrites) {
  server_.reset();
  RecorderServiceOptions so;
  so.bearer_token = "s3cret";
  StartServer(so);
  EXPECT_EQ(CreateRun("r1").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CreateRun("r1", "wrong").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(CreateRun("r1", "s3cret").ok());
  events::RoutingEventBatch b = MakeBatch(TestSpec("r1"), "w", 0, 10, 1, 1);
  auto r = SendBatches(stub_.get(), {b});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetRun("r1").events(), 0u);  // reads need no token
  r = SendBatches(stub_.get(), {b}, "s3cret");
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(GetRun("r1").events(), 10u);
  v1::DeleteRunRequest dr;
  dr.set_run_id("r1");
  v1::DeleteRunResponse resp;
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->DeleteRun(&ctx, dr, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(FinishRun("r1").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(FinishRun("r1", nullptr, "wrong").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(GetRun("r1").finished());
  ASSERT_TRUE(FinishRun("r1", nullptr, "s3cret").ok());
  EXPECT_TRUE(GetRun("r1").finished());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer s3cret");
  ASSERT_TRUE(stub_->DeleteRun(&ctx, dr, &resp).ok());
  EXPECT_EQ(resp.events_deleted(), 10u);
}

TEST_F(RecorderServiceTest, FinishRunRefusesNewBatchesButAcksResends) {
  EXPECT_EQ(FinishRun("ghost").error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(CreateRun("r1").ok());
  BruteCounts ref;
  const std::vector<events::RoutingEventBatch> batches = R1Batches(3, 50, &ref);
  ASSERT_TRUE(SendBatches(stub_.get(), batches).status.ok());
  v1::RunSummary fin;
  ASSERT_TRUE(FinishRun("r1", &fin).ok());
  EXPECT_TRUE(fin.finished());
  EXPECT_GT(fin.finished_unix_ms(), 0);
  EXPECT_EQ(fin.events(), ref.events);
  v1::RunSummary again;
  ASSERT_TRUE(FinishRun("r1", &again).ok());  // idempotent: the same summary
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(again, fin));

  // Re-sent applied batches are duplicates; the first new one ends the stream.
  events::RoutingEventBatch fresh = MakeBatch(TestSpec("r1"), "w", 3, 50, 3, 3);
  auto r = SendBatches(stub_.get(), {batches[1], batches[2], fresh, batches[0]});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(r.status.error_message(), "batch 3: run r1 is finished");
  ASSERT_EQ(r.acks.size(), 2u);
  EXPECT_TRUE(r.acks[0].duplicate());
  EXPECT_TRUE(r.acks[1].duplicate());
  bool created = true;
  ASSERT_TRUE(CreateRun("r1", "", &created).ok());  // identical spec: still idempotent
  EXPECT_FALSE(created);
  ExpectMatches("r1", ref);

  grpc::ClientContext lctx;
  v1::ListRunsResponse list;
  ASSERT_TRUE(stub_->ListRuns(&lctx, v1::ListRunsRequest(), &list).ok());
  ASSERT_EQ(list.runs_size(), 1);
  EXPECT_TRUE(list.runs(0).finished());
  EXPECT_EQ(list.runs(0).finished_unix_ms(), fin.finished_unix_ms());
  server_->Stop();  // persisted
  ASSERT_TRUE(server_->Start());
  stub_ = server_->NewStub();
  v1::RunSummary after = GetRun("r1");
  EXPECT_TRUE(after.finished());
  EXPECT_EQ(after.finished_unix_ms(), fin.finished_unix_ms());
  EXPECT_EQ(SendBatches(stub_.get(), {fresh}).status.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(testing::MetricValue(server_->registry(), "monoroute_recorder_rejected_batches_total",
                                 "reason", "failed_precondition"),
            1);
}

TEST_F(RecorderServiceTest, RestartKeepsEverythingAcked) {
  ASSERT_TRUE(CreateRun("r1").ok());
  BruteCounts ref;
  const std::vector<events::RoutingEventBatch> batches = R1Batches(5, 200, &ref);
  auto r = SendBatches(stub_.get(), batches);
  ASSERT_EQ(r.acks.size(), 5u);
  server_->Stop();
  ASSERT_TRUE(server_->Start());
  stub_ = server_->NewStub();
  ExpectMatches("r1", ref);
  auto again = SendBatches(stub_.get(), {batches[2]});
  ASSERT_EQ(again.acks.size(), 1u);
  EXPECT_TRUE(again.acks[0].duplicate());
}

TEST_F(RecorderServiceTest, QueryEventsAndDeleteRun) {
  ASSERT_TRUE(CreateRun("r1").ok());
  std::vector<events::RoutingEventBatch> batches;
  for (uint64_t s = 0; s < 4; ++s) {  // steps 0..3, each of every routed layer
    for (int li = 0; li < 4; ++li) {
      const uint64_t seq = batches.size();
      batches.push_back(MakeBatch(TestSpec("r1"), "w", seq, 50, s, seq, "", li));
    }
  }
  ASSERT_TRUE(SendBatches(stub_.get(), batches).status.ok());
  v1::EventQuery q;
  q.set_run_id("r1");
  q.set_has_layer(true);
  q.set_layer(4);
  q.set_min_step(1);
  q.set_max_step(2);
  q.set_limit(1000);
  grpc::ClientContext ctx;
  auto reader = stub_->QueryEvents(&ctx, q);
  v1::EventBatch m;
  size_t events = 0;
  while (reader->Read(&m)) {
    EXPECT_EQ(m.layer(), 4u);
    EXPECT_GE(m.step(), 1u);
    EXPECT_LE(m.step(), 2u);
    EXPECT_EQ(m.top_k(), 4u);
    ASSERT_LT(m.batch_seq(), batches.size());
    const events::RoutingEventBatch& src = batches[m.batch_seq()];  // the batch as sent
    EXPECT_EQ(src.header.step, m.step());
    EXPECT_EQ(src.header.layer, m.layer());
    EXPECT_EQ(FromProto(m).token_id, src.token_id);
    EXPECT_EQ(FromProto(m).pathways, src.pathways);
    EXPECT_EQ(FromProto(m).weights, src.weights);
    events += static_cast<size_t>(m.token_id_size());
    EXPECT_EQ(m.writer_id(), "w");
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(events, 100u);  // 2 steps x 50 tokens at layer 4

  v1::DeleteRunRequest dr;
  dr.set_run_id("r1");
  v1::DeleteRunResponse resp;
  grpc::ClientContext dctx;
  ASSERT_TRUE(stub_->DeleteRun(&dctx, dr, &resp).ok());
  EXPECT_EQ(resp.events_deleted(), 800u);
  grpc::Status s;
  GetRun("r1", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace monoroute::recorder
