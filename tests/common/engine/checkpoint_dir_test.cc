// Tests of checkpoint staging, atomic commit, pruning and stale staging cleanup.
#include "common/engine/checkpoint_dir.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

namespace fs = std::filesystem;

TEST(CheckpointDirTest, CommitKeepsTheLastN) {
  testing::TempDir dir;
  EXPECT_FALSE(LatestCheckpoint(dir.path()).has_value());
  for (int64_t step : {10, 20, 30, 40}) {
    auto staging = MakeStagingDir(dir.path(), step);
    ASSERT_TRUE(staging.ok());
    testing::WriteText((fs::path(*staging) / "x").string(), std::to_string(step));
    EXPECT_TRUE(ListCheckpoints(dir.path()).size() <= 2u);  // staging is not a checkpoint
    auto final_dir = CommitCheckpoint(*staging, dir.path(), step, 2);
    ASSERT_TRUE(final_dir.ok()) << final_dir.status();
    EXPECT_TRUE(fs::exists(fs::path(*final_dir) / "x"));
  }
  auto all = ListCheckpoints(dir.path());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, 30);
  EXPECT_EQ(all[1].first, 40);
  EXPECT_EQ(LatestCheckpoint(dir.path())->first, 40);
}

TEST(CheckpointDirTest, StaleStagingIsIgnoredAndRemoved) {
  testing::TempDir dir;
  auto staging = MakeStagingDir(dir.path(), 50);  // a run killed while writing step 50
  ASSERT_TRUE(staging.ok());
  EXPECT_FALSE(LatestCheckpoint(dir.path()).has_value());
  RemoveStaleStaging(dir.path());
  EXPECT_FALSE(fs::exists(*staging));
}

TEST(CheckpointDirTest, RecommitReplacesTheSameStep) {
  testing::TempDir dir;
  for (const char* v : {"old", "new"}) {
    auto staging = MakeStagingDir(dir.path(), 5);
    ASSERT_TRUE(staging.ok());
    testing::WriteText((fs::path(*staging) / "v").string(), v);
    ASSERT_TRUE(CommitCheckpoint(*staging, dir.path(), 5, 3).ok());
  }
  auto all = ListCheckpoints(dir.path());
  ASSERT_EQ(all.size(), 1u);
  std::ifstream in(fs::path(all[0].second) / "v");
  std::string v;
  in >> v;
  EXPECT_EQ(v, "new");
}

}  // namespace
}  // namespace monoroute::engine
