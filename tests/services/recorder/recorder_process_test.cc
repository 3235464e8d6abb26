// Tests of the monoroute-recorder binary as a child process: SIGKILL in the middle of a stream
// (every acked batch survives exactly once and the client's retries complete the run without
// duplicates), and clean SIGTERM shutdown (exit code 0, database reopens with everything) also
// while a client holds a stalled QueryEvents stream.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/service/health_check.h"
#include "services/recorder/recorder_client.h"
#include "services/recorder/recorder_service.h"
#include "tests/services/recorder/recorder_grpc_test_util.h"
#include "tests/testing/process.h"

namespace monoroute::recorder {
namespace {

using testing::BruteCounts;
using testing::MakeBatch;
using testing::TestSpec;

const char kBinary[] = MONOROUTE_BIN_DIR "/monoroute-recorder";

// A monoroute-recorder child process (tests/testing's ServiceProcess) on a fixed port, so that a
// restart is reached at the same address by the clients already connected.
class ChildRecorder {
 public:
  ChildRecorder(std::string data_dir, int port, std::string log, std::vector<std::string> extra)
      : data_dir_(std::move(data_dir)),
        address_("127.0.0.1:" + std::to_string(port)),
        log_(std::move(log)),
        extra_(std::move(extra)) {}

  // Starts (or restarts) the binary, output appended to the log, and waits until it answers.
  void Start() {
    std::vector<std::string> args = {kBinary,   "--listen",         address_, "--data-dir",
                                     data_dir_, "--metrics-listen", "",       "--shutdown-grace-ms",
                                     "500"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    const absl::Status started = process_.Start("monoroute-recorder", args, log_);
    ASSERT_TRUE(started.ok()) << started;
    const absl::Status ready = process_.WaitReady(address_, std::chrono::seconds(10));
    ASSERT_TRUE(ready.ok()) << ready;
  }

  // SIGKILL, then reap; true when the signal ended it.
  bool Kill() {
    process_.Kill();
    return process_.exit_code() == 128 + SIGKILL;
  }

  // SIGTERM, then reap (SIGKILL after a minute); how it ended, "exit 0" for a clean shutdown.
  std::string Stop() { return process_.Stop(std::chrono::seconds(60)); }

  // "127.0.0.1:<port>".
  const std::string& address() const { return address_; }

  // Everything the starts so far printed.
  std::string Log() const { return ::monoroute::testing::ReadText(log_); }

 private:
  std::string data_dir_, address_, log_;
  std::vector<std::string> extra_;
  ::monoroute::testing::ServiceProcess process_;
};

// A RecorderWriter with `o` (address and writer id set) that created run `run_id` (TestSpec);
// null, with a failed expectation, when either fails.
std::unique_ptr<RecorderWriter> WriterWithRun(const RecorderWriterOptions& o,
                                              const std::string& run_id) {
  absl::StatusOr<std::unique_ptr<RecorderWriter>> w = RecorderWriter::Create(o);
  EXPECT_TRUE(w.ok()) << w.status();
  if (!w.ok()) return nullptr;
  const absl::Status created = (*w)->CreateRun(testing::TestSpecProto(run_id));
  EXPECT_TRUE(created.ok()) << created;
  return created.ok() ? std::move(*w) : nullptr;
}

// Every batch of run `run_id` (raw events through QueryEvents) is of `writer` and present exactly
// once: `batches` distinct batch ids of `events` events each.
void ExpectEachBatchOnce(v1::Recorder::Stub* stub, const std::string& run_id,
                         const std::string& writer, uint64_t batches, uint64_t events) {
  grpc::ClientContext ctx;
  v1::EventQuery q;
  q.set_run_id(run_id);
  q.set_limit(100'000'000);
  auto reader = stub->QueryEvents(&ctx, q);
  std::map<uint64_t, uint64_t> per_batch;
  v1::EventBatch m;
  while (reader->Read(&m)) {
    EXPECT_EQ(m.writer_id(), writer);
    per_batch[m.batch_seq()] += m.token_id_size();
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(per_batch.size(), batches);
  for (const auto& [seq, n] : per_batch) EXPECT_EQ(n, events) << "batch " << seq;
}

class RecorderProcessTest : public ::testing::TestWithParam<bool /*sync*/> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kBinary)) << kBinary << " not built";
  }
  // Starts child_ on a free port (with --sync when the parameter says so).
  void StartChild() {
    std::vector<std::string> extra;
    if (GetParam()) extra.push_back("--sync");
    child_ = std::make_unique<ChildRecorder>(dir_.Sub("db"), testing::FreePort(), dir_.Sub("log"),
                                             extra);
    ASSERT_NO_FATAL_FAILURE(child_->Start());
  }
  // Options of a RecorderWriter `writer_id` to child_.
  RecorderWriterOptions WriterOptions(const std::string& writer_id) const {
    RecorderWriterOptions o;
    o.address = child_->address();
    o.writer_id = writer_id;
    return o;
  }
  testing::TempDir dir_;
  std::unique_ptr<ChildRecorder> child_;
};

TEST_P(RecorderProcessTest, SigkillMidStreamKeepsAckedBatchesExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(StartChild());
  ChildRecorder& child = *child_;
  RecorderWriterOptions o = WriterOptions("job-1");
  o.retry_backoff = std::chrono::milliseconds(50);
  std::unique_ptr<RecorderWriter> w = WriterWithRun(o, "crash");
  ASSERT_NE(w, nullptr);

  constexpr uint64_t kBatches = 150;
  BruteCounts ref;
  std::vector<events::RoutingEventBatch> batches;
  for (uint64_t s = 0; s < kBatches; ++s) {
    batches.push_back(MakeBatch(TestSpec("crash"), "job-1", s, 1000, s / 4, s));  // 1000 events
    ref.Add(batches.back(), 4);
  }
  std::thread producer([&] {
    for (const auto& b : batches) {
      EXPECT_TRUE(w->Append(b.view()));
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  });
  while (w->stats().batches_acked < 20) std::this_thread::sleep_for(std::chrono::microseconds(200));
  EXPECT_TRUE(child.Kill());
  const uint64_t acked_at_kill = w->stats().batches_acked;
  EXPECT_LT(acked_at_kill, kBatches) << "the kill must land in the middle of the stream";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // client sees failures, retries
  ASSERT_NO_FATAL_FAILURE(child.Start());
  producer.join();
  ASSERT_TRUE(w->Flush(std::chrono::seconds(60)).ok());
  RecorderWriterStats st = w->stats();
  EXPECT_EQ(st.events_dropped, 0u);
  EXPECT_GT(st.retries, 0u);
  EXPECT_EQ(st.batches_acked, kBatches);  // a re-sent batch gets one (duplicate) ack

  // Every batch present exactly once: per-(writer, batch) event counts from the raw events.
  auto stub =
      v1::Recorder::NewStub(grpc::CreateChannel(o.address, grpc::InsecureChannelCredentials()));
  ASSERT_NO_FATAL_FAILURE(ExpectEachBatchOnce(stub.get(), "crash", "job-1", kBatches, 1000));

  grpc::ClientContext rctx;
  v1::GetRunRequest gr;
  gr.set_run_id("crash");
  v1::RunSummary sum;
  ASSERT_TRUE(stub->GetRun(&rctx, gr, &sum).ok());
  EXPECT_EQ(sum.events(), kBatches * 1000);
  EXPECT_EQ(sum.batches(), kBatches);
  for (uint32_t layer : {0u, 6u}) {
    grpc::ClientContext cctx;
    v1::CountsRequest cr;
    cr.set_run_id("crash");
    cr.set_layer(layer);
    auto cread = stub->GetCounts(&cctx, cr);
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> got;
    v1::CountsChunk ch;
    while (cread->Read(&ch)) {
      for (int i = 0; i < ch.count_size(); ++i) got[{ch.pathway(i), ch.token_id(i)}] += ch.count(i);
    }
    ASSERT_TRUE(cread->Finish().ok());
    EXPECT_EQ(got, ref.Layer(layer)) << "layer " << layer;
  }
}

TEST_P(RecorderProcessTest, SigtermShutsDownCleanly) {
  ASSERT_NO_FATAL_FAILURE(StartChild());
  ChildRecorder& child = *child_;
  RecorderWriterOptions o = WriterOptions("job");
  std::unique_ptr<RecorderWriter> w = WriterWithRun(o, "term");
  ASSERT_NE(w, nullptr);
  std::vector<events::RoutingEventBatch> batches;
  for (uint64_t s = 0; s < 10; ++s) {
    batches.push_back(MakeBatch(TestSpec("term"), "job", s, 1000, s, s));
    ASSERT_TRUE(w->Append(batches.back().view()));
  }
  ASSERT_TRUE(w->Flush(std::chrono::seconds(30)).ok());
  // A query client with a small fixed HTTP/2 window that reads one message and stops reading:
  // the recorder's producer blocks on its full queue until the shutdown cancels the stream.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 << 10);
  auto slow = v1::Recorder::NewStub(
      grpc::CreateCustomChannel(o.address, grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext qctx;
  v1::EventQuery q;
  q.set_run_id("term");
  q.set_limit(100'000'000);
  auto stalled = slow->QueryEvents(&qctx, q);
  v1::EventBatch m;
  ASSERT_TRUE(stalled->Read(&m));
  // SIGTERM while the writer's stream and the stalled query are still open.
  ASSERT_EQ(child.Stop(), "exit 0") << child.Log();
  EXPECT_NE(child.Log().find("stopped cleanly"), std::string::npos) << child.Log();
  while (stalled->Read(&m)) {
  }
  EXPECT_FALSE(stalled->Finish().ok());

  ASSERT_NO_FATAL_FAILURE(child.Start());
  ASSERT_TRUE(w->Append(batches[3].view()));  // re-sent: recognised
  ASSERT_TRUE(w->Flush(std::chrono::seconds(30)).ok());
  EXPECT_EQ(w->stats().duplicate_acks, 1u);
  auto stub =
      v1::Recorder::NewStub(grpc::CreateChannel(o.address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  v1::GetRunRequest gr;
  gr.set_run_id("term");
  v1::RunSummary sum;
  ASSERT_TRUE(stub->GetRun(&ctx, gr, &sum).ok());
  EXPECT_EQ(sum.events(), 10u * 1000);
  EXPECT_EQ(child.Stop(), "exit 0") << child.Log();
}

// Issue 23: a full volume is a state, not a crash loop. The recorder binary on a 40 MiB tmpfs
// (root only: skipped otherwise) fed by a RecorderWriter until the device is full: its write
// health turns NOT_SERVING while the overall status stays SERVING and reads work, the writer
// keeps its batches and retries (nothing dropped), and once space returns every batch lands
// exactly once without a restart.
TEST(RecorderDiskFullTest, FullVolumeIsAStateAndWritingResumesWithoutLoss) {
  ASSERT_TRUE(std::filesystem::exists(kBinary)) << kBinary << " not built";
  testing::TempDir dir;
  testing::Tmpfs fs(dir.Sub("tmpfs"), "40m");
  if (!fs.mounted()) {
    GTEST_SKIP() << "needs `mount -t tmpfs` (root with CAP_SYS_ADMIN): " << fs.error();
  }
  ASSERT_TRUE(testing::WriteBallast(dir.Sub("tmpfs/ballast"), 12 << 20));
  ChildRecorder child(dir.Sub("tmpfs/db"), testing::FreePort(), dir.Sub("log"),
                      {"--write-buffer-mb", "4"});
  ASSERT_NO_FATAL_FAILURE(child.Start());
  RecorderWriterOptions o;
  o.address = child.address();
  o.writer_id = "job-full";
  o.retry_backoff = std::chrono::milliseconds(20);
  o.max_block = std::chrono::minutes(2);
  std::unique_ptr<RecorderWriter> w = WriterWithRun(o, "full");
  ASSERT_NE(w, nullptr);
  auto channel = grpc::CreateChannel(o.address, grpc::InsecureChannelCredentials());
  auto health = [&](const std::string& name) {
    absl::StatusOr<ServingStatus> s = CheckHealth(channel, name, std::chrono::seconds(5));
    return s.ok() ? *s : ServingStatus::kUnknown;
  };
  ASSERT_EQ(health(kWriteHealthName), ServingStatus::kServing);

  // Append until the write health says the disk is full, then 10 batches more.
  uint64_t seq = 0, after_full = 0, events = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (after_full < 10) {
    ASSERT_LT(std::chrono::steady_clock::now() - t0, std::chrono::minutes(3)) << child.Log();
    // At most ~20 batches ahead of the acks, so what is queued fits once space returns.
    const RecorderWriterStats ws = w->stats();
    if (after_full == 0 && ws.events_enqueued - ws.events_acked > 20 * 4096) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (health(kWriteHealthName) == ServingStatus::kNotServing) ++after_full;
      continue;
    }
    events::RoutingEventBatch b = MakeBatch(TestSpec("full"), "job-full", seq, 4096, seq, seq);
    ASSERT_TRUE(w->Append(b.view()));
    events += b.num_events();
    ++seq;
    if (after_full > 0 ||
        (seq % 10 == 0 && health(kWriteHealthName) == ServingStatus::kNotServing)) {
      ++after_full;
    }
  }
  EXPECT_EQ(health(""), ServingStatus::kServing);  // reads are served
  auto stub = v1::Recorder::NewStub(channel);
  {
    grpc::ClientContext ctx;
    v1::GetRunRequest req;
    req.set_run_id("full");
    v1::RunSummary sum;
    ASSERT_TRUE(stub->GetRun(&ctx, req, &sum).ok());
    EXPECT_LT(sum.events(), events);
  }
  EXPECT_THAT(child.Log(), ::testing::HasSubstr("NOT_SERVING"));
  EXPECT_THAT(child.Log(), ::testing::HasSubstr("recorder storage full"));

  std::filesystem::remove(dir.Sub("tmpfs/ballast"));  // space returns
  ASSERT_TRUE(w->Flush(std::chrono::minutes(2)).ok()) << child.Log();
  RecorderWriterStats st = w->stats();
  EXPECT_EQ(st.events_dropped, 0u);
  EXPECT_GT(st.retries, 0u);
  EXPECT_EQ(st.batches_acked, seq);
  ASSERT_NO_FATAL_FAILURE(ExpectEachBatchOnce(stub.get(), "full", "job-full", seq, 4096));
  for (int i = 0; i < 50 && health(kWriteHealthName) != ServingStatus::kServing; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the probe runs every second
  }
  EXPECT_EQ(health(kWriteHealthName), ServingStatus::kServing);
  stub.reset();
  EXPECT_EQ(child.Stop(), "exit 0") << child.Log();
}

INSTANTIATE_TEST_SUITE_P(GroupCommitAndSync, RecorderProcessTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "Sync" : "GroupCommit";
                         });

}  // namespace
}  // namespace monoroute::recorder
