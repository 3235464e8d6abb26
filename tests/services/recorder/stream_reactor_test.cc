// Tests of the recorder's flow-controlled query streams (BoundedWriteReactor behind QueryEvents
// and GetCounts) through a real service on 127.0.0.1: a 300k-event query arrives complete, once
// and in order; the limit default and bound; a client cancelling mid-stream, or stalling until the
// server shuts down, leaves the server healthy and its stream thread free.
#include "services/recorder/stream_reactor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include "tests/services/recorder/recorder_grpc_test_util.h"

namespace monoroute::recorder {
namespace {

using ::testing::HasSubstr;
using testing::InProcessRecorder;
using testing::MakeBatch;
using testing::SendBatches;
using testing::TestSpec;

// Identity and payload of one event as QueryEvents returns it.
using Event = std::tuple<uint32_t /*layer*/, uint64_t /*step*/, uint64_t /*batch_seq*/,
                         uint64_t /*sequence_id*/, uint32_t /*position*/, uint32_t /*token*/,
                         uint32_t /*first pathway*/, float /*first weight*/>;

constexpr size_t kTokens = 2500;   // x 4: 10000 events per batch
constexpr uint64_t kBatches = 30;  // 300000 events

class StreamReactorTest : public ::testing::Test {
 protected:
  void StartServer(RecorderServiceOptions so = {}) {
    server_ = std::make_unique<InProcessRecorder>(dir_.Sub("db"), so);
    ASSERT_TRUE(server_->Start());
    stub_ = server_->NewStub();
  }

  // StartServer(so), then WriteBigRun().
  void ServeBigRun(RecorderServiceOptions so = {}) {
    ASSERT_NO_FATAL_FAILURE(StartServer(so));
    ASSERT_NO_FATAL_FAILURE(WriteBigRun());
  }

  // A QueryEvents request for run "big" with `limit`.
  static v1::EventQuery BigQuery(uint64_t limit) {
    v1::EventQuery q;
    q.set_run_id("big");
    q.set_limit(limit);
    return q;
  }

  // Writes kBatches batches (batch s at step s) to run "big"; fills expected_ in the order
  // QueryEvents must return them: layer, step, then the batch's order.
  void WriteBigRun() {
    grpc::ClientContext ctx;
    v1::CreateRunResponse resp;
    ASSERT_TRUE(stub_->CreateRun(&ctx, testing::TestSpecProto("big"), &resp).ok());
    std::vector<events::RoutingEventBatch> batches;
    for (uint64_t s = 0; s < kBatches; ++s) {
      // kTokens x 4 events of one layer (the layers in turn): the volume of kTokens tokens
      // through all 4 routed layers.
      batches.push_back(MakeBatch(TestSpec("big"), "w", s, kTokens * 4, s, 100 + s));
    }
    for (size_t i = 0; i < batches.size(); i += 10) {  // a few streams, like a trainer restart
      std::vector<events::RoutingEventBatch> part(
          batches.begin() + i, batches.begin() + std::min(batches.size(), i + 10));
      auto r = SendBatches(stub_.get(), part);
      ASSERT_TRUE(r.status.ok()) << r.status.error_message();
      ASSERT_EQ(r.acks.size(), part.size());
    }
    for (uint32_t layer : {0u, 2u, 4u, 6u}) {
      for (const events::RoutingEventBatch& b : batches) {
        if (b.header.layer != layer) continue;
        for (size_t i = 0; i < b.num_events(); ++i) {
          expected_.emplace_back(layer, b.header.step, b.header.batch_id, b.sequence_id[i],
                                 b.position[i], b.token_id[i], b.pathways[i * 4], b.weights[i * 4]);
        }
      }
    }
    ASSERT_EQ(expected_.size(), kBatches * kTokens * 4);
  }

  // Streams QueryEvents(run "big", limit) to the end; returns the events and message count.
  grpc::Status Query(uint64_t limit, std::vector<Event>* out, int* messages = nullptr,
                     v1::Recorder::Stub* stub = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));  // no hang
    auto reader = (stub != nullptr ? stub : stub_.get())->QueryEvents(&ctx, BigQuery(limit));
    v1::EventBatch m;
    int n = 0;
    while (reader->Read(&m)) {
      ++n;
      EXPECT_EQ(m.writer_id(), "w");
      EXPECT_EQ(m.top_k(), 4u);
      EXPECT_EQ(m.pathways_size(), 4 * m.token_id_size());
      EXPECT_EQ(m.step(), m.batch_seq());  // batch s was written at step s
      for (int i = 0; i < m.token_id_size(); ++i) {
        out->emplace_back(m.layer(), m.step(), m.batch_seq(), m.sequence_id(i), m.position(i),
                          m.token_id(i), m.pathways(4 * i), m.weights(4 * i));
      }
    }
    if (messages != nullptr) *messages = n;
    return reader->Finish();
  }

  // Query(limit) succeeds with exactly the first `n` events of expected_.
  void ExpectFirstEvents(uint64_t limit, size_t n) {
    std::vector<Event> got;
    const grpc::Status s = Query(limit, &got);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(got.size(), n);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), expected_.begin()));
  }

  // Calls server-streaming `rpc` with `req`, reads `n` messages (each expected), cancels the call
  // and returns its final status.
  template <typename Req, typename Item>
  grpc::Status ReadThenCancel(std::unique_ptr<grpc::ClientReader<Item>> (v1::Recorder::Stub::*rpc)(
                                  grpc::ClientContext*, const Req&),
                              const Req& req, int n) {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<Item>> reader = (stub_.get()->*rpc)(&ctx, req);
    Item item;
    for (int i = 0; i < n; ++i) EXPECT_TRUE(reader->Read(&item)) << "message " << i;
    ctx.TryCancel();
    while (reader->Read(&item)) {
    }
    return reader->Finish();
  }

  // GetRun of run "big" through stub_; the summary in `sum`.
  grpc::Status GetBigRun(v1::RunSummary* sum) {
    grpc::ClientContext ctx;
    v1::GetRunRequest req;
    req.set_run_id("big");
    return stub_->GetRun(&ctx, req, sum);
  }

  testing::TempDir dir_;
  std::unique_ptr<InProcessRecorder> server_;
  std::unique_ptr<v1::Recorder::Stub> stub_;
  std::vector<Event> expected_;
};

TEST_F(StreamReactorTest, LargeQueryArrivesCompleteOnceAndInOrder) {
  ASSERT_NO_FATAL_FAILURE(ServeBigRun());
  std::vector<Event> got;
  int messages = 0;
  grpc::Status s = Query(expected_.size(), &got, &messages);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(messages, static_cast<int>(kBatches));  // one per (layer, step, batch) block
  ASSERT_EQ(got.size(), expected_.size());
  EXPECT_TRUE(got == expected_);  // every event once, in (layer, step, batch) order

  // limit 0 is the default, 100000 events: the first 100000 of the same order.
  ExpectFirstEvents(0, kDefaultEventLimit);
  // A limit inside a block cuts the block.
  ExpectFirstEvents(12345, 12345);
}

TEST_F(StreamReactorTest, LimitAboveTheServerMaximumIsInvalidArgument) {
  RecorderServiceOptions so;
  so.max_query_events = 150000;
  ASSERT_NO_FATAL_FAILURE(ServeBigRun(so));
  std::vector<Event> got;
  grpc::Status s = Query(150001, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("limit 150001 exceeds"));
  EXPECT_THAT(s.error_message(), HasSubstr("150000"));
  EXPECT_TRUE(got.empty());
  ASSERT_TRUE(Query(150000, &got).ok());
  EXPECT_EQ(got.size(), 150000u);
  EXPECT_EQ(testing::MetricValue(server_->registry(), "monoroute_recorder_rejected_batches_total",
                                 "reason", "invalid_argument"),
            1);

  // A maximum below the default bounds limit 0 too.
  server_.reset();
  so.max_query_events = 1000;
  ASSERT_NO_FATAL_FAILURE(StartServer(so));
  ExpectFirstEvents(0, 1000);
}

TEST_F(StreamReactorTest, ClientCancelMidStreamLeavesServerHealthy) {
  RecorderServiceOptions so;
  so.stream_threads = 1;  // a producer that never stopped would block every later stream
  ASSERT_NO_FATAL_FAILURE(ServeBigRun(so));
  const v1::EventQuery q = BigQuery(expected_.size());
  for (int round = 0; round < 5; ++round) {
    EXPECT_EQ(ReadThenCancel(&v1::Recorder::Stub::QueryEvents, q, round + 1).error_code(),
              grpc::StatusCode::CANCELLED)
        << "round " << round;
  }
  // GetCounts cancelled after its first chunk, too.
  v1::CountsRequest cr;
  cr.set_run_id("big");
  cr.set_layer(2);
  EXPECT_EQ(ReadThenCancel(&v1::Recorder::Stub::GetCounts, cr, 1).error_code(),
            grpc::StatusCode::CANCELLED);
  // The following RPCs succeed, including a full stream on the single stream thread.
  v1::RunSummary sum;
  ASSERT_TRUE(GetBigRun(&sum).ok());
  EXPECT_EQ(sum.events(), expected_.size());
  ExpectFirstEvents(expected_.size(), expected_.size());
}

TEST_F(StreamReactorTest, ShutdownCompletesWhileAClientStallsAStream) {
  RecorderServiceOptions so;
  so.stream_threads = 1;
  ASSERT_NO_FATAL_FAILURE(ServeBigRun(so));
  // A client with a small, fixed HTTP/2 window that reads one message and then stops reading:
  // the server's writes stall and its producer blocks on the full queue.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 << 10);
  auto slow = v1::Recorder::NewStub(
      grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext ctx;
  auto reader = slow->QueryEvents(&ctx, BigQuery(expected_.size()));
  v1::EventBatch m;
  ASSERT_TRUE(reader->Read(&m));
  // Unary calls do not wait for the blocked stream thread.
  v1::RunSummary sum;
  ASSERT_TRUE(GetBigRun(&sum).ok());
  // Shutdown (2 s grace, then the server cancels open calls) must complete: the cancel wakes the
  // blocked producer, the reactor finishes, the store closes.
  server_->Stop();
  int more = 0;
  while (reader->Read(&m)) ++more;
  grpc::Status s = reader->Finish();
  EXPECT_FALSE(s.ok());
  EXPECT_LT(static_cast<size_t>(more + 1), kBatches * 4);
  // Everything is still there after a restart.
  ASSERT_TRUE(server_->Start());
  stub_ = server_->NewStub();
  ExpectFirstEvents(expected_.size(), expected_.size());
}

TEST_F(StreamReactorTest, CountsStreamInChunksWithWatermark) {
  RecorderServiceOptions so;
  so.counts_chunk_entries = 1000;
  ASSERT_NO_FATAL_FAILURE(ServeBigRun(so));
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> want;
  for (const Event& e : expected_) {
    if (std::get<0>(e) == 4) ++want[{std::get<6>(e), std::get<5>(e)}];  // first pathway only
  }
  grpc::ClientContext ctx;
  v1::CountsRequest cr;
  cr.set_run_id("big");
  cr.set_layer(4);
  auto reader = stub_->GetCounts(&ctx, cr);
  v1::CountsChunk ch;
  int chunks = 0;
  uint64_t entries = 0, total = 0;
  while (reader->Read(&ch)) {
    ++chunks;
    EXPECT_EQ(ch.watermark(), kBatches);
    EXPECT_LE(ch.count_size(), 1000);
    entries += ch.count_size();
    for (int i = 0; i < ch.count_size(); ++i) {
      total += ch.count(i);
      // Every (first pathway, token) pair seen has at least that many routings in all top-4.
      auto it = want.find({ch.pathway(i), ch.token_id(i)});
      if (it != want.end()) EXPECT_GE(ch.count(i), it->second);
    }
  }
  ASSERT_TRUE(reader->Finish().ok());
  const uint64_t layer4 = std::count_if(expected_.begin(), expected_.end(),
                                        [](const Event& e) { return std::get<0>(e) == 4; });
  EXPECT_GT(layer4, 0u);
  EXPECT_EQ(total, layer4 * 4);  // top-4 routings of every layer-4 event
  EXPECT_EQ(chunks, static_cast<int>((entries + 999) / 1000));
  EXPECT_GT(chunks, 1);
  // An unknown run still ends with its error; an empty result is one chunk with the watermark.
  grpc::ClientContext ectx;
  cr.set_run_id("ghost");
  auto bad = stub_->GetCounts(&ectx, cr);
  EXPECT_FALSE(bad->Read(&ch));
  EXPECT_EQ(bad->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext nctx;
  cr.set_run_id("big");
  cr.set_split("never");
  auto empty = stub_->GetCounts(&nctx, cr);
  ASSERT_TRUE(empty->Read(&ch));
  EXPECT_EQ(ch.count_size(), 0);
  EXPECT_EQ(ch.watermark(), kBatches);
  EXPECT_FALSE(empty->Read(&ch));
  EXPECT_TRUE(empty->Finish().ok());
}

}  // namespace
}  // namespace monoroute::recorder
