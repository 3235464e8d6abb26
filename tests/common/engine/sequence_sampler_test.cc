// Tests of the split, the deterministic shuffle and resumable positions.
#include "common/engine/sequence_sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/engine/token_cache.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

std::vector<int32_t> Iota(int n) {
  std::vector<int32_t> v(n);
  for (int i = 0; i < n; ++i) v[i] = i;
  return v;
}

TEST(SequenceSamplerTest, WindowsOverlapByOneToken) {
  std::vector<int32_t> t = Iota(33);
  auto s = SequenceSampler::Create(&t, 8, 0, /*shuffle=*/false);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->num_windows(), 4);
  SequenceBatch b = (*s)->Next(2);
  EXPECT_EQ(b.window_ids, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(std::vector<int32_t>(b.tokens.begin(), b.tokens.begin() + 9), Iota(9));
  EXPECT_EQ(b.tokens[9], 8);  // second window starts where the first one's inputs end
  EXPECT_EQ(b.tokens[17], 16);
}

TEST(SequenceSamplerTest, ShuffleIsDeterministicAndAPermutationPerEpoch) {
  std::vector<int32_t> t = Iota(1001);
  auto a = SequenceSampler::Create(&t, 10, 42, true);
  auto b = SequenceSampler::Create(&t, 10, 42, true);
  auto c = SequenceSampler::Create(&t, 10, 43, true);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  SequenceBatch ea = (*a)->Next(100), eb = (*b)->Next(100), ec = (*c)->Next(100);
  EXPECT_EQ(ea.window_ids, eb.window_ids);
  EXPECT_EQ(ea.tokens, eb.tokens);
  EXPECT_NE(ea.window_ids, ec.window_ids);
  std::set<uint64_t> seen(ea.window_ids.begin(), ea.window_ids.end());
  EXPECT_EQ(seen.size(), 100u);  // every window once per epoch
  std::vector<uint64_t> sorted = ea.window_ids;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(sorted, ea.window_ids);  // actually shuffled
  // The next epoch is another permutation.
  SequenceBatch e2 = (*a)->Next(100);
  EXPECT_NE(e2.window_ids, ea.window_ids);
  EXPECT_EQ((*a)->position().epoch, 1);
  EXPECT_EQ((*a)->position().index, 100);
}

TEST(SequenceSamplerTest, PositionResumesExactly) {
  std::vector<int32_t> t = Iota(501);
  auto a = SequenceSampler::Create(&t, 10, 7, true);
  ASSERT_TRUE(a.ok());
  std::vector<SequenceBatch> all;
  for (int i = 0; i < 20; ++i) all.push_back((*a)->Next(7));  // crosses epoch boundaries
  auto b = SequenceSampler::Create(&t, 10, 7, true);
  for (int i = 0; i < 9; ++i) (*b)->Next(7);
  SamplerPosition p = (*b)->position();
  auto c = SequenceSampler::Create(&t, 10, 7, true);
  (*c)->set_position(p);
  for (int i = 9; i < 20; ++i) {
    SequenceBatch x = (*c)->Next(7);
    EXPECT_EQ(x.window_ids, all[i].window_ids) << i;
    EXPECT_EQ(x.tokens, all[i].tokens) << i;
  }
}

// The ranks' shares of a global batch are disjoint, together exactly the 1-rank batch (in order),
// and every rank ends at the 1-rank position (also across an epoch boundary).
TEST(SequenceSamplerTest, ShardsOfAGlobalBatchMakeUpTheOneRankBatch) {
  std::vector<int32_t> t = Iota(8 * 11 + 1);
  auto one = SequenceSampler::Create(&t, 8, 3, /*shuffle=*/true);
  ASSERT_TRUE(one.ok());
  std::vector<std::unique_ptr<SequenceSampler>> ranks;
  for (int r = 0; r < 3; ++r) ranks.push_back(*SequenceSampler::Create(&t, 8, 3, true));
  for (int step = 0; step < 5; ++step) {  // 5 x 6 windows: crosses two epochs of 11
    SequenceBatch whole = (*one)->Next(6);
    std::vector<uint64_t> ids;
    std::vector<int32_t> tokens;
    for (int r = 0; r < 3; ++r) {
      SequenceBatch share = ranks[r]->NextShard(6, r, 3);
      EXPECT_EQ(share.batch, 2);
      ids.insert(ids.end(), share.window_ids.begin(), share.window_ids.end());
      tokens.insert(tokens.end(), share.tokens.begin(), share.tokens.end());
      EXPECT_EQ(ranks[r]->position().epoch, (*one)->position().epoch);
      EXPECT_EQ(ranks[r]->position().index, (*one)->position().index);
    }
    EXPECT_EQ(ids, whole.window_ids) << "step " << step;
    EXPECT_EQ(tokens, whole.tokens) << "step " << step;
  }
}

TEST(SequenceSamplerTest, TooShortStreamIsAnError) {
  std::vector<int32_t> t = Iota(8);
  auto s = SequenceSampler::Create(&t, 8, 0, true);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), ::testing::HasSubstr("data.seq_len 8 needs 9"));
}

TEST(SequenceSamplerTest, EvalBatchesCoverEveryWindowInOrder) {
  std::vector<int32_t> t = Iota(101);
  std::vector<SequenceBatch> b = EvalBatches(t, 10, 3, 0);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[3].batch, 1);
  EXPECT_EQ(b[3].window_ids, (std::vector<uint64_t>{9}));
  EXPECT_EQ(b[3].tokens.front(), 90);
  EXPECT_EQ(EvalBatches(t, 10, 3, 2).size(), 2u);
}

TEST(SequenceSamplerTest, HeldOutValidationIsDisjointAndDeterministic) {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("t.txt"), testing::StoryCorpus(200));
  TokenCacheOptions o;
  o.source_path = dir.Sub("t.txt");
  o.tokenizer_dir = MONOROUTE_TOKENIZER_DIR;
  o.cache_dir = dir.Sub("cache");
  auto cache = TokenCache::Open(o);
  ASSERT_TRUE(cache.ok()) << cache.status();
  auto s1 = MakeDataSplits(**cache, nullptr, 0.1, 5);
  auto s2 = MakeDataSplits(**cache, nullptr, 0.1, 5);
  auto s3 = MakeDataSplits(**cache, nullptr, 0.1, 6);
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok());
  EXPECT_EQ(s1->valid_documents, 20);
  EXPECT_EQ(s1->train_documents, 180);
  EXPECT_EQ(s1->held_out_documents, s2->held_out_documents);
  EXPECT_NE(s1->held_out_documents, s3->held_out_documents);
  EXPECT_EQ(static_cast<int64_t>(s1->train.size() + s1->valid.size()), (*cache)->num_tokens());
  // Disjoint: the held-out documents' tokens form the valid stream, the rest the train stream.
  std::set<int64_t> held(s1->held_out_documents.begin(), s1->held_out_documents.end());
  std::vector<int32_t> train, valid;
  for (int64_t d = 0; d < (*cache)->num_documents(); ++d) {
    (*cache)->AppendDocument(d, held.count(d) ? &valid : &train);
  }
  EXPECT_EQ(train, s1->train);
  EXPECT_EQ(valid, s1->valid);
  // With a separate validation file nothing is held out.
  auto s4 = MakeDataSplits(**cache, cache->get(), 0.1, 5);
  ASSERT_TRUE(s4.ok());
  EXPECT_TRUE(s4->held_out_documents.empty());
  EXPECT_EQ(static_cast<int64_t>(s4->train.size()), (*cache)->num_tokens());
}

}  // namespace
}  // namespace monoroute::engine
