// Tests of RecorderWriter against an in-process recorder on 127.0.0.1: acks and stats, counts vs
// brute force, rejected blocks, reconnect + re-send after a server restart, a run declaration that
// waits through a refused connect, bounded queue, auth, FinishRun.
#include "services/recorder/recorder_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "tests/services/recorder/recorder_grpc_test_util.h"

namespace monoroute::recorder {
namespace {

using testing::BruteCounts;
using ::testing::HasSubstr;
using testing::InProcessRecorder;
using testing::MakeBatch;
using testing::TestSpec;
using testing::TestSpecProto;

std::unique_ptr<RecorderWriter> NewWriter(const std::string& address, const std::string& id,
                                          const std::string& token = "") {
  RecorderWriterOptions o;
  o.address = address;
  o.writer_id = id;
  o.bearer_token = token;
  o.retry_backoff = std::chrono::milliseconds(20);
  auto w = RecorderWriter::Create(o);
  EXPECT_TRUE(w.ok()) << w.status();
  return std::move(*w);
}

std::map<std::pair<uint32_t, uint32_t>, uint64_t> Counts(RecorderStore* store,
                                                         const std::string& run, uint32_t layer) {
  CountsQueryData q;
  q.run_id = run;
  q.layer = layer;
  return testing::ToMap(*store->GetCounts(q));
}

// An in-process recorder per test (started by the tests that need one) in a temp dir.
class RecorderWriterTest : public ::testing::Test {
 protected:
  // Starts server_, requiring bearer `token` on writes when not empty.
  void StartServer(const std::string& token = "") {
    RecorderServiceOptions so;
    so.bearer_token = token;
    server_ = std::make_unique<InProcessRecorder>(dir_.Sub("db"), so);
    ASSERT_TRUE(server_->Start());
  }
  testing::TempDir dir_;
  std::unique_ptr<InProcessRecorder> server_;
};

TEST_F(RecorderWriterTest, CreateValidatesOptions) {
  EXPECT_EQ(RecorderWriter::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
  RecorderWriterOptions o;
  o.address = "127.0.0.1:1";
  EXPECT_EQ(RecorderWriter::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RecorderWriterTest, AppendsAreAckedAndCounted) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  auto w = NewWriter(server_->address(), "trainer-1");
  ASSERT_TRUE(w->CreateRun(TestSpecProto("r1")).ok());
  ASSERT_TRUE(w->CreateRun(TestSpecProto("r1")).ok());  // idempotent
  RunSpecLite other = TestSpecProto("r1");
  other.set_top_k(2);
  absl::Status conflict = w->CreateRun(other);
  EXPECT_EQ(conflict.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(conflict.message(), HasSubstr("top_k: stored 4, requested 2"));
  RunSpecLite more = TestSpecProto("r1");  // an extra label is merged into the run
  (*more.mutable_labels())["checkpoint"] = "/ckpt";
  ASSERT_TRUE(w->CreateRun(more).ok());
  EXPECT_EQ(server_->store()->GetRun("r1")->spec.labels.at("checkpoint"), "/ckpt");
  BruteCounts ref;
  for (uint64_t s = 0; s < 30; ++s) {
    events::RoutingEventBatch b = MakeBatch(TestSpec("r1"), "trainer-1", s, 100, s, s);
    ref.Add(b, 4);
    ASSERT_TRUE(w->Append(b.view()));
  }
  ASSERT_TRUE(w->Flush(std::chrono::seconds(30)).ok());
  RecorderWriterStats st = w->stats();
  EXPECT_EQ(st.events_enqueued, 30u * 100);
  EXPECT_EQ(st.events_acked, 30u * 100);
  EXPECT_EQ(st.batches_acked, 30u);
  EXPECT_EQ(st.events_dropped, 0u);
  EXPECT_EQ(st.duplicate_acks, 0u);
  for (uint32_t layer : {0u, 2u, 4u, 6u}) {
    EXPECT_EQ(Counts(server_->store(), "r1", layer), ref.Layer(layer));
  }
}

// Batches of very different sizes on one stream, many more than the in-flight window: the
// writer's recycled wire buffers and the recorder's recycled read messages must carry exactly
// the batch at hand (nothing left over from a larger one before it).
TEST_F(RecorderWriterTest, RecycledBuffersCarryEachBatchExactly) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  RecorderWriterOptions o;
  o.address = server_->address();
  o.writer_id = "w";
  o.max_in_flight_batches = 2;
  o.max_queue_events = 1200;  // Append waits for acks: buffers are reused
  o.max_block = std::chrono::milliseconds(30000);
  auto w = RecorderWriter::Create(o);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->CreateRun(TestSpecProto("r1")).ok());
  std::map<uint64_t, events::RoutingEventBatch> sent;  // by batch id
  const size_t sizes[] = {900, 3, 250, 1, 600};
  for (uint64_t s = 0; s < 40; ++s) {
    events::RoutingEventBatch b = MakeBatch(TestSpec("r1"), "w", s, sizes[s % 5], s, s);
    ASSERT_TRUE((*w)->Append(b.view()));
    sent.emplace(s, std::move(b));
  }
  ASSERT_TRUE((*w)->Flush(std::chrono::seconds(60)).ok());
  EventQueryData q;
  q.run_id = "r1";
  q.limit = 1000000;
  size_t seen = 0;
  absl::Status st = server_->store()->QueryEvents(q, [&](events::RoutingEventBatch&& got) {
    auto it = sent.find(got.header.batch_id);
    EXPECT_NE(it, sent.end()) << got.header.batch_id;
    if (it == sent.end()) return false;
    const events::RoutingEventBatch& want = it->second;
    EXPECT_EQ(got.header.step, want.header.step);
    EXPECT_EQ(got.header.layer, want.header.layer);
    EXPECT_EQ(got.sequence_id, want.sequence_id) << got.header.batch_id;
    EXPECT_EQ(got.position, want.position);
    EXPECT_EQ(got.token_id, want.token_id);
    EXPECT_EQ(got.next_token_id, want.next_token_id);
    EXPECT_EQ(got.pathways, want.pathways);
    EXPECT_EQ(got.weights, want.weights);
    ++seen;
    return true;
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(seen, sent.size());
  EXPECT_EQ((*w)->stats().events_acked, (*w)->stats().events_enqueued);
}

TEST_F(RecorderWriterTest, RejectedBlockIsDroppedAndReported) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  auto w = NewWriter(server_->address(), "w");
  ASSERT_TRUE(w->CreateRun(TestSpecProto("r1")).ok());
  events::RoutingEventBatch good0 = MakeBatch(TestSpec("r1"), "w", 0, 10, 1, 1);
  events::RoutingEventBatch bad = MakeBatch(TestSpec("r1"), "w", 1, 10, 1, 2);
  bad.token_id[3] = 999999;
  events::RoutingEventBatch good2 = MakeBatch(TestSpec("r1"), "w", 2, 10, 1, 3);
  ASSERT_TRUE(w->Append(good0.view()));
  ASSERT_TRUE(w->Append(bad.view()));
  ASSERT_TRUE(w->Append(good2.view()));
  absl::Status s = w->Flush(std::chrono::seconds(30));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("batch 1: token_id[3] = 999999"));
  EXPECT_TRUE(w->Flush(std::chrono::seconds(5)).ok());  // reported once
  RecorderWriterStats st = w->stats();
  EXPECT_EQ(st.events_dropped, 10u);
  EXPECT_EQ(st.batches_acked, 2u);
  BruteCounts ref;
  ref.Add(good0, 4);
  ref.Add(good2, 4);
  for (uint32_t layer : {0u, 2u, 4u, 6u}) {  // good0 is of layer 0, bad of 2, good2 of 4
    EXPECT_EQ(Counts(server_->store(), "r1", layer), ref.Layer(layer)) << layer;
  }
}

TEST_F(RecorderWriterTest, ReconnectsAndResendsAfterServerRestart) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const int port = server_->port();
  auto w = NewWriter(server_->address(), "w");
  ASSERT_TRUE(w->CreateRun(TestSpecProto("r1")).ok());
  BruteCounts ref;
  uint64_t seq = 0;
  for (; seq < 10; ++seq) {
    events::RoutingEventBatch b = MakeBatch(TestSpec("r1"), "w", seq, 50, seq, seq);
    ref.Add(b, 4);
    ASSERT_TRUE(w->Append(b.view()));
  }
  ASSERT_TRUE(w->Flush(std::chrono::seconds(30)).ok());
  server_->Stop();
  for (; seq < 20; ++seq) {  // queued while the server is down
    events::RoutingEventBatch b = MakeBatch(TestSpec("r1"), "w", seq, 50, seq, seq);
    ref.Add(b, 4);
    ASSERT_TRUE(w->Append(b.view()));
  }
  EXPECT_EQ(w->Flush(std::chrono::milliseconds(300)).code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(server_->Start(port));
  ASSERT_TRUE(w->Flush(std::chrono::seconds(30)).ok());
  RecorderWriterStats st = w->stats();
  EXPECT_EQ(st.events_acked, 20u * 50);
  EXPECT_GT(st.retries, 0u);
  EXPECT_EQ(Counts(server_->store(), "r1", 6), ref.Layer(6));
  EXPECT_EQ(server_->store()->GetRun("r1")->events, 20u * 50);
}

TEST_F(RecorderWriterTest, CreateRunWaitsForReadyThroughAFailedConnect) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const int port = server_->port();
  server_->Stop();  // the port is known and nothing listens: connects are refused
  auto w = NewWriter("127.0.0.1:" + std::to_string(port), "w");
  // Without waiting, a refused connect fails the declaration at once.
  EXPECT_EQ(w->CreateRun(TestSpecProto("r1")).code(), absl::StatusCode::kUnavailable);
  // Waiting, the declaration succeeds once the recorder listens (here 1.5 s later).
  std::thread restart([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    ASSERT_TRUE(server_->Start(port));
  });
  absl::Status s = w->CreateRun(TestSpecProto("r1"), std::chrono::seconds(30));
  restart.join();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(server_->store()->GetRun("r1").ok());
  // A recorder that never comes back costs at most the wait: DEADLINE_EXCEEDED, not a hang.
  server_->Stop();
  EXPECT_EQ(w->CreateRun(TestSpecProto("r2"), std::chrono::milliseconds(300)).code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(RecorderWriterTest, FullQueueDropsAfterMaxBlock) {
  RecorderWriterOptions o;
  o.address = "127.0.0.1:" + std::to_string(testing::FreePort());  // nobody listens
  o.writer_id = "w";
  o.max_queue_events = 500;
  o.max_block = std::chrono::milliseconds(50);
  auto w = RecorderWriter::Create(o);
  ASSERT_TRUE(w.ok());
  events::RoutingEventBatch b = MakeBatch(TestSpec("r1"), "w", 0, 400, 1, 1);  // 400 events
  EXPECT_TRUE((*w)->Append(b.view()));
  b.header.batch_id = 1;
  EXPECT_FALSE((*w)->Append(b.view()));
  RecorderWriterStats st = (*w)->stats();
  EXPECT_EQ(st.events_enqueued, 400u);
  EXPECT_EQ(st.events_dropped, 400u);
  EXPECT_EQ((*w)->Flush(std::chrono::milliseconds(100)).code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(RecorderWriterTest, FinishRunThenResendIsDuplicateAndNewBlockIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartServer("tok"));
  auto w = NewWriter(server_->address(), "w", "tok");
  ASSERT_TRUE(w->CreateRun(TestSpecProto("r1")).ok());
  EXPECT_EQ(w->FinishRun("ghost", std::chrono::seconds(10)).code(), absl::StatusCode::kNotFound);
  events::RoutingEventBatch b0 = MakeBatch(TestSpec("r1"), "w", 0, 10, 1, 1);
  ASSERT_TRUE(w->Append(b0.view()));
  ASSERT_TRUE(w->Flush(std::chrono::seconds(30)).ok());
  ASSERT_TRUE(w->FinishRun("r1", std::chrono::seconds(10)).ok());
  ASSERT_TRUE(w->FinishRun("r1", std::chrono::seconds(10)).ok());  // idempotent
  EXPECT_TRUE(server_->store()->GetRun("r1")->finished);
  ASSERT_TRUE(w->CreateRun(TestSpecProto("r1")).ok());  // identical spec: still fine
  ASSERT_TRUE(w->Append(b0.view()));                    // re-send: a duplicate ack
  ASSERT_TRUE(w->Flush(std::chrono::seconds(30)).ok());
  EXPECT_EQ(w->stats().duplicate_acks, 1u);
  ASSERT_TRUE(w->Append(MakeBatch(TestSpec("r1"), "w", 1, 10, 2, 2).view()));
  absl::Status s = w->Flush(std::chrono::seconds(30));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("run r1 is finished"));
  EXPECT_EQ(w->stats().events_dropped, 10u);
  EXPECT_EQ(server_->store()->GetRun("r1")->events, 10u);
  auto no_token = NewWriter(server_->address(), "w3");
  EXPECT_EQ(no_token->FinishRun("r1", std::chrono::seconds(10)).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(RecorderWriterTest, WrongTokenIsReported) {
  ASSERT_NO_FATAL_FAILURE(StartServer("tok"));
  auto good = NewWriter(server_->address(), "w", "tok");
  ASSERT_TRUE(good->CreateRun(TestSpecProto("r1")).ok());
  auto bad = NewWriter(server_->address(), "w2", "nope");
  EXPECT_EQ(bad->CreateRun(TestSpecProto("r1")).code(), absl::StatusCode::kUnauthenticated);
  ASSERT_TRUE(bad->Append(MakeBatch(TestSpec("r1"), "w2", 0, 10, 1, 1).view()));
  EXPECT_EQ(bad->Flush(std::chrono::seconds(10)).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(bad->stats().events_dropped, 10u);
  EXPECT_EQ(server_->store()->GetRun("r1")->events, 0u);
}

}  // namespace
}  // namespace monoroute::recorder
