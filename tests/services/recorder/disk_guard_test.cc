// Disk-full is a state, not a crash (issue 23): RecorderStore on a 40 MiB tmpfs written until the
// device is full answers RESOURCE_EXHAUSTED naming the data dir and its free space, keeps serving
// reads, survives its WAL sync loop (the old abort: "writable_file_writer.h:312 Assertion
// 'sync_without_flush_called_'"), resumes writing by itself when space returns, and loses
// nothing acked (also across a reopen). And --max-disk-bytes refuses writes before the device is
// full. Mounting needs root (CAP_SYS_ADMIN): skipped with a message where mount is refused.
#include "services/recorder/disk_guard.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "services/recorder/recorder_store.h"
#include "tests/services/recorder/recorder_test_util.h"

namespace monoroute::recorder {
namespace {

using testing::BruteCounts;
using testing::MakeBatch;
using testing::TempDir;
using testing::TestSpec;
using testing::Tmpfs;
using testing::ToMap;
using testing::WriteBallast;

RecorderStoreOptions SmallStore(const std::string& dir) {
  RecorderStoreOptions o;
  o.data_dir = dir;
  o.write_buffer_bytes = 4 << 20;  // flushes happen long before the 40 MiB device is full
  o.wal_sync_interval = std::chrono::milliseconds(50);
  o.disk_poll_interval = std::chrono::milliseconds(20);
  return o;
}

uint64_t QueryCount(RecorderStore& store, const std::string& run) {
  EventQueryData q;
  q.run_id = run;
  q.limit = 1ull << 40;
  uint64_t n = 0;
  absl::Status s = store.QueryEvents(q, [&](events::RoutingEventBatch&& b) {
    n += b.num_events();
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  return n;
}

TEST(DiskGuardTest, FullTmpfsIsAStateReadsWorkAndWritingResumes) {
  TempDir tmp;
  const std::string mnt = tmp.Sub("tmpfs");
  Tmpfs fs(mnt, "40m");
  if (!fs.mounted()) {
    GTEST_SKIP() << "needs `mount -t tmpfs` (root with CAP_SYS_ADMIN): mount failed: "
                 << fs.error();
  }
  ASSERT_TRUE(WriteBallast(mnt + "/ballast", 12 << 20));  // space to give back later
  RecorderStoreOptions o = SmallStore(mnt + "/db");
  auto store = RecorderStore::Create(o);
  ASSERT_TRUE(store.ok()) << store.status();
  const RunSpecData spec = TestSpec("full");
  ASSERT_TRUE((*store)->CreateRun(spec).ok());

  BruteCounts acked;
  absl::Status failure;
  uint64_t seq = 0;
  for (; seq < 100000; ++seq) {
    events::RoutingEventBatch b = MakeBatch(spec, "w", seq, 4096, seq, static_cast<uint32_t>(seq));
    absl::StatusOr<WriteResult> r = (*store)->Write(b);
    if (!r.ok()) {
      failure = r.status();
      break;
    }
    acked.Add(b, spec.top_k);
  }
  ASSERT_FALSE(failure.ok()) << "the 40 MiB tmpfs never filled";
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_NE(failure.message().find(o.data_dir), std::string::npos) << failure;
  EXPECT_NE(failure.message().find("free"), std::string::npos) << failure;
  EXPECT_TRUE(IsRetryLater(failure));
  const uint64_t failed_seq = seq;
  // Take what the failed write left free, so that nothing can resume before space returns.
  (void)WriteBallast(mnt + "/ballast2", 64 << 20);

  // Full is a state: the WAL sync loop runs on (the old abort came 0.4 s after the first
  // failure), writes keep failing the same way, health says why.
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    absl::StatusOr<WriteResult> r =
        (*store)->Write(MakeBatch(spec, "w", failed_seq, 4096, failed_seq, 7));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  }
  absl::Status health = (*store)->WriteHealth();
  EXPECT_EQ(health.code(), absl::StatusCode::kResourceExhausted) << health;
  EXPECT_TRUE((*store)->Properties().writes_stopped || (*store)->Properties().disk_free_bytes == 0);

  // Reads keep working and hold exactly what was acked.
  absl::StatusOr<RunSummaryData> sum = (*store)->GetRun("full");
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->events, acked.events);
  EXPECT_EQ(sum->batches, failed_seq);
  ASSERT_TRUE((*store)->ListRuns().ok());
  CountsQueryData cq;
  cq.run_id = "full";
  cq.layer = 2;
  absl::StatusOr<CountsResultData> counts = (*store)->GetCounts(cq);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(ToMap(*counts), acked.Layer(2));
  EXPECT_EQ(QueryCount(**store, "full"), acked.events);

  // Space returns: writing resumes by itself.
  const auto t0 = std::chrono::steady_clock::now();
  std::filesystem::remove(mnt + "/ballast");
  std::filesystem::remove(mnt + "/ballast2");
  while (!(*store)->WriteHealth().ok()) {
    ASSERT_LT(std::chrono::steady_clock::now() - t0, std::chrono::minutes(2))
        << "writes did not resume: " << (*store)->WriteHealth();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double resume_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("time to resume after space returned: %.3f s\n", resume_s);
  ::testing::Test::RecordProperty("time_to_resume_ms", static_cast<int>(resume_s * 1000));
  // Small batches: the point is that writes resume, not to fill the freed space again (a memtable
  // flush or compaction after the resume needs room of its own on the small tmpfs).
  for (uint64_t s = failed_seq; s < failed_seq + 5; ++s) {
    events::RoutingEventBatch b = MakeBatch(spec, "w", s, 256, s, static_cast<uint32_t>(s));
    absl::StatusOr<WriteResult> r = (*store)->Write(b);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->duplicate);
    acked.Add(b, spec.top_k);
  }

  // Nothing acked is lost, also across a reopen.
  ASSERT_TRUE((*store)->Close().ok());
  store->reset();
  auto again = RecorderStore::Create(o);
  ASSERT_TRUE(again.ok()) << again.status();
  sum = (*again)->GetRun("full");
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->events, acked.events);
  counts = (*again)->GetCounts(cq);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(ToMap(*counts), acked.Layer(2));
  EXPECT_EQ(QueryCount(**again, "full"), acked.events);
  ASSERT_TRUE((*again)->Close().ok());
}

TEST(DiskGuardTest, MaxDiskBytesRefusesWritesBeforeTheDeviceIsFull) {
  TempDir tmp;
  RecorderStoreOptions o = SmallStore(tmp.Sub("db"));
  o.max_disk_bytes = 3 << 20;
  auto store = RecorderStore::Create(o);
  ASSERT_TRUE(store.ok()) << store.status();
  const RunSpecData spec = TestSpec("quota");
  ASSERT_TRUE((*store)->CreateRun(spec).ok());
  uint64_t acked = 0;
  absl::Status failure;
  for (uint64_t seq = 0; seq < 100000 && failure.ok(); ++seq) {
    events::RoutingEventBatch b = MakeBatch(spec, "w", seq, 4096, seq, static_cast<uint32_t>(seq));
    absl::StatusOr<WriteResult> r = (*store)->Write(b);
    if (r.ok()) {
      acked += r->events;
    } else {
      failure = r.status();
    }
    // Let the disk poll see the growth (writes are admitted on its last measurement).
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_FALSE(failure.ok());
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_NE(failure.message().find("--max-disk-bytes"), std::string::npos) << failure;
  EXPECT_NE(failure.message().find(o.data_dir), std::string::npos) << failure;
  EXPECT_TRUE(IsRetryLater(failure));
  EXPECT_FALSE((*store)->WriteHealth().ok());
  absl::StatusOr<RunSummaryData> sum = (*store)->GetRun("quota");
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->events, acked);
}

}  // namespace
}  // namespace monoroute::recorder
