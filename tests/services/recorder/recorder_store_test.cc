// Tests of RecorderStore (the RocksDB core, no gRPC): counts vs brute force, dedup, restart,
// validation writing nothing, step ranges, raw events, retention, counts-only runs, deletion,
// finishing a run, split selection (controls only when named), bounds on labels, splits and
// writer ids, ListRuns pages.
#include "services/recorder/recorder_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "common/base/split_names.h"
#include "tests/services/recorder/recorder_test_util.h"

namespace monoroute::recorder {
namespace {

using testing::BruteCounts;
using ::testing::HasSubstr;
using testing::MakeBatch;
using testing::TestSpec;
using testing::ToMap;

class RecorderStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    RecorderStoreOptions o;
    o.data_dir = dir_.Sub("db");
    o.max_batch_events = 100000;
    auto s = RecorderStore::Create(o);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void Reopen() {
    ASSERT_TRUE(store_->Close().ok());
    store_.reset();
    Open();
  }
  // Writes `b` and adds it to the reference.
  void Write(const events::RoutingEventBatch& b) {
    auto r = store_->Write(b);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_FALSE(r->duplicate);
    ref_.Add(b, 4);
    sent_.push_back(b);
  }
  void ExpectCountsMatch(const std::string& run) {
    for (uint32_t layer : {0u, 2u, 4u, 6u}) {
      CountsQueryData q;
      q.run_id = run;
      q.layer = layer;
      auto c = store_->GetCounts(q);
      ASSERT_TRUE(c.ok()) << c.status();
      EXPECT_EQ(ToMap(*c), ref_.Layer(layer)) << "layer " << layer;
      auto t = store_->GetTotals(run, layer, "");
      ASSERT_TRUE(t.ok()) << t.status();
      EXPECT_EQ(t->tokens, ref_.tokens[layer]);
      for (uint32_t p = 0; p < 16; ++p) {
        uint64_t want = 0;
        for (const auto& [k, v] : ref_.Layer(layer)) {
          if (k.first == p) want += v;
        }
        EXPECT_EQ(t->pathway_count[p], want);
        EXPECT_NEAR(t->pathway_weight[p], (ref_.weight[{layer, p}]), 1e-3);
      }
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<RecorderStore> store_;
  BruteCounts ref_;
  std::vector<events::RoutingEventBatch> sent_;
};

TEST_F(RecorderStoreTest, CountsTotalsAndSummaryMatchBruteForce) {
  ASSERT_TRUE(*store_->CreateRun(TestSpec("r1")));
  uint64_t seq = 0;
  for (uint64_t step : {0, 3, 12, 19, 25}) {
    Write(MakeBatch(TestSpec("r1"), "w1", seq++, 200, step, 100 + step));
    Write(MakeBatch(TestSpec("r1"), "w2", seq++, 50, step, 200 + step, "valid"));
  }
  ExpectCountsMatch("r1");
  // Per split.
  CountsQueryData q;
  q.run_id = "r1";
  q.layer = 2;  // w2's batches (odd seqs) are of layers 2 and 6
  q.split = "valid";
  EXPECT_FALSE(ref_.Layer(2, "valid").empty());
  EXPECT_EQ(ToMap(*store_->GetCounts(q)), ref_.Layer(2, "valid"));
  q.split = "nope";
  EXPECT_TRUE(store_->GetCounts(q)->count.empty());

  auto sum = store_->GetRun("r1");
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->events, ref_.events);
  EXPECT_EQ(sum->batches, 10u);
  EXPECT_EQ(sum->min_step, 0u);
  EXPECT_EQ(sum->max_step, 25u);
  EXPECT_EQ(sum->layers_seen, (std::vector<uint32_t>{0, 2, 4, 6}));
  EXPECT_EQ(sum->splits, (std::vector<std::string>{"train", "valid"}));
  EXPECT_EQ(sum->watermark, 10u);
  EXPECT_GT(sum->first_write_unix_ms, 0);
  EXPECT_GE(sum->last_write_unix_ms, sum->first_write_unix_ms);
}

TEST_F(RecorderStoreTest, StepRangeCountsUseBuckets) {
  ASSERT_TRUE(store_->CreateRun(TestSpec("r1")).ok());
  uint64_t seq = 0;
  for (uint64_t step : {1, 9, 10, 15, 19, 20, 33}) {
    Write(MakeBatch(TestSpec("r1"), "w", seq++, 30, step, static_cast<uint32_t>(step), "", 1));
  }
  BruteCounts range;
  for (const auto& b : sent_) range.Add(b, 4, 10, 19);
  CountsQueryData q;
  q.run_id = "r1";
  q.layer = 2;
  q.min_step = 10;
  q.max_step = 19;  // bucket-aligned: exact
  EXPECT_EQ(ToMap(*store_->GetCounts(q)), range.Layer(2));
  BruteCounts tail;
  for (const auto& b : sent_) tail.Add(b, 4, 20);
  q.min_step = 20;
  q.max_step = 0;  // open end
  EXPECT_EQ(ToMap(*store_->GetCounts(q)), tail.Layer(2));
  q.min_step = 30;
  q.max_step = 20;
  EXPECT_EQ(store_->GetCounts(q).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RecorderStoreTest, DuplicateBatchIsAppliedOnce) {
  ASSERT_TRUE(store_->CreateRun(TestSpec("r1")).ok());
  events::RoutingEventBatch b = MakeBatch(TestSpec("r1"), "w", 5, 100, 2, 9);
  Write(b);
  auto again = store_->Write(b);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  // Same seq from another writer is a different batch.
  events::RoutingEventBatch other = b;
  other.header.writer_id = "w-other";
  Write(other);
  ExpectCountsMatch("r1");
  EXPECT_EQ(store_->GetRun("r1")->events, 2 * b.num_events());
}

TEST_F(RecorderStoreTest, RestartKeepsEverythingAndDedup) {
  ASSERT_TRUE(store_->CreateRun(TestSpec("r1")).ok());
  events::RoutingEventBatch b0 = MakeBatch(TestSpec("r1"), "w", 0, 100, 1, 1);
  Write(b0);
  Write(MakeBatch(TestSpec("r1"), "w", 1, 100, 2, 2, "valid"));
  auto before = *store_->GetRun("r1");
  Reopen();
  ExpectCountsMatch("r1");
  auto after = store_->GetRun("r1");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->events, before.events);
  EXPECT_EQ(after->watermark, before.watermark);
  EXPECT_EQ(after->splits, before.splits);
  EXPECT_TRUE(store_->Write(b0)->duplicate);
  // The idempotent CreateRun still recognises the spec after restart.
  EXPECT_FALSE(*store_->CreateRun(TestSpec("r1")));
  Write(MakeBatch(TestSpec("r1"), "w", 2, 10, 3, 3, "test"));
  ExpectCountsMatch("r1");
}

TEST_F(RecorderStoreTest, FinishRunPersistsKeepsDuplicatesAndRefusesNewBatches) {
  EXPECT_EQ(store_->FinishRun("ghost").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->CreateRun(TestSpec("r1")).ok());
  ASSERT_TRUE(store_->CreateRun(TestSpec("r2")).ok());
  events::RoutingEventBatch b0 = MakeBatch(TestSpec("r1"), "w", 0, 100, 1, 1);
  events::RoutingEventBatch b1 = MakeBatch(TestSpec("r1"), "w", 1, 100, 2, 2, "valid");
  Write(b0);
  Write(b1);
  EXPECT_FALSE(store_->GetRun("r1")->finished);
  auto fin = store_->FinishRun("r1");
  ASSERT_TRUE(fin.ok()) << fin.status();
  EXPECT_TRUE(fin->finished);
  EXPECT_GT(fin->finished_unix_ms, 0);
  EXPECT_EQ(fin->events, b0.num_events() + b1.num_events());
  auto again = store_->FinishRun("r1");  // idempotent: the same summary
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->finished_unix_ms, fin->finished_unix_ms);
  EXPECT_EQ(again->events, fin->events);
  EXPECT_EQ(again->watermark, fin->watermark);

  // A re-send of an applied batch is still a duplicate; a new batch is refused, writing nothing.
  auto dup = store_->Write(b1);
  ASSERT_TRUE(dup.ok()) << dup.status();
  EXPECT_TRUE(dup->duplicate);
  events::RoutingEventBatch fresh = MakeBatch(TestSpec("r1"), "w", 2, 10, 3, 3);
  auto refused = store_->Write(fresh);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "batch 2: run r1 is finished");
  EXPECT_FALSE(*store_->CreateRun(TestSpec("r1")));  // identical spec: still idempotent
  ExpectCountsMatch("r1");
  // Other runs are unaffected.
  EXPECT_FALSE(store_->GetRun("r2")->finished);
  ASSERT_TRUE(store_->Write(MakeBatch(TestSpec("r2"), "w", 0, 10, 1, 4)).ok());

  Reopen();  // persisted in the run record
  auto after = store_->GetRun("r1");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->finished);
  EXPECT_EQ(after->finished_unix_ms, fin->finished_unix_ms);
  EXPECT_EQ(after->events, fin->events);
  EXPECT_FALSE(store_->GetRun("r2")->finished);
  EXPECT_TRUE(store_->Write(b0)->duplicate);
  EXPECT_EQ(store_->Write(fresh).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(*store_->CreateRun(TestSpec("r1")));
  auto listed = store_->ListRuns();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->runs.size(), 2u);
  EXPECT_TRUE(listed->runs[0].finished);  // sorted by run id: r1, r2
  EXPECT_FALSE(listed->runs[1].finished);
  ExpectCountsMatch("r1");
  // A deleted, re-created run starts unfinished.
  ASSERT_TRUE(store_->DeleteRun("r1").ok());
  EXPECT_EQ(store_->FinishRun("r1").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(*store_->CreateRun(TestSpec("r1")));
  EXPECT_FALSE(store_->GetRun("r1")->finished);
  ASSERT_TRUE(store_->Write(fresh).ok());
}

TEST_F(RecorderStoreTest, CreateRunIsIdempotentAndDetectsConflicts) {
  EXPECT_TRUE(*store_->CreateRun(TestSpec("r1")));
  EXPECT_FALSE(*store_->CreateRun(TestSpec("r1")));
  RunSpecData other = TestSpec("r1");
  other.num_pathways = 8;
  auto s = store_->CreateRun(other);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->CreateRun(TestSpec("bad/id")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RecorderStoreTest, ReDeclaringARunAddsLabelsThatSurviveARestart) {
  ASSERT_TRUE(*store_->CreateRun(TestSpec("r1")));
  Write(MakeBatch(TestSpec("r1"), "w", 0, 20, 1, 1));
  RunSpecData resumed = TestSpec("r1");  // what a newer trainer sends when resuming
  resumed.labels["checkpoint"] = "/ckpt/step-100";
  auto created = store_->CreateRun(resumed);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(*created);
  EXPECT_FALSE(*store_->CreateRun(resumed));         // identical now
  EXPECT_FALSE(*store_->CreateRun(TestSpec("r1")));  // a subset of the labels too
  EXPECT_EQ(store_->GetRun("r1")->spec.labels, resumed.labels);
  ASSERT_TRUE(store_->FinishRun("r1").ok());
  resumed.labels["note"] = "after finish";  // a finished run takes labels and stays finished
  ASSERT_TRUE(store_->CreateRun(resumed).ok());
  Reopen();
  auto run = store_->GetRun("r1");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->spec.labels, resumed.labels);
  EXPECT_TRUE(run->finished);
  EXPECT_EQ(run->events, 20u);
  auto listed = store_->ListRuns();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->runs.size(), 1u);
  EXPECT_EQ(listed->runs[0].spec.labels, resumed.labels);
  ExpectCountsMatch("r1");
}

TEST_F(RecorderStoreTest, ReDeclaringARunWithAChangedLabelOrLayoutNamesTheDifference) {
  ASSERT_TRUE(*store_->CreateRun(TestSpec("r1")));
  RunSpecData changed = TestSpec("r1");
  changed.labels["model"] = "other";
  changed.labels["checkpoint"] = "c";
  auto s = store_->CreateRun(changed);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.status().message(), HasSubstr("labels['model']: stored 'test', requested 'other'"));
  RunSpecData layout = TestSpec("r1");
  layout.top_k = 2;
  s = store_->CreateRun(layout);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.status().message(), HasSubstr("top_k: stored 4, requested 2"));
  EXPECT_EQ(store_->GetRun("r1")->spec.labels, TestSpec("r1").labels);  // nothing was added
}

TEST_F(RecorderStoreTest, ReDeclaredLabelsStayWithinTheLabelBounds) {
  RunSpecData full = TestSpec("r1");
  for (size_t i = 0; full.labels.size() < kMaxLabels; ++i)
    full.labels["k" + std::to_string(i)] = "";
  ASSERT_TRUE(*store_->CreateRun(full));
  RunSpecData more = TestSpec("r1");
  more.labels["one-more"] = "x";
  auto s = store_->CreateRun(more);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.status().message(), HasSubstr("labels has"));
  RunSpecData big = TestSpec("r2");
  big.labels["a"] = std::string(kMaxLabelValueBytes, 'a');
  big.labels["b"] = std::string(kMaxLabelValueBytes, 'b');
  big.labels["c"] = std::string(kMaxLabelValueBytes, 'c');
  ASSERT_TRUE(*store_->CreateRun(big));
  RunSpecData bigger = TestSpec("r2");
  bigger.labels["d"] = std::string(kMaxLabelValueBytes, 'd');
  s = store_->CreateRun(bigger);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.status().message(), HasSubstr("labels hold"));
  EXPECT_EQ(store_->GetRun("r2")->spec.labels, big.labels);
}

TEST_F(RecorderStoreTest, BadBatchesWriteNothing) {
  ASSERT_TRUE(store_->CreateRun(TestSpec("r1")).ok());
  Write(MakeBatch(TestSpec("r1"), "w", 0, 20, 1, 1));
  const events::RoutingEventBatch good = MakeBatch(TestSpec("r1"), "w", 1, 20, 2, 2);
  struct Case {
    std::function<void(events::RoutingEventBatch&)> mutate;
    absl::StatusCode code;
    std::string msg;
  };
  std::vector<Case> cases = {
      {[](events::RoutingEventBatch& b) { b = events::RoutingEventBatch{{}, b.header}; },
       absl::StatusCode::kInvalidArgument, "empty batch"},
      {[](events::RoutingEventBatch& b) { b.token_id.pop_back(); },
       absl::StatusCode::kInvalidArgument, "token_id has"},
      {[](events::RoutingEventBatch& b) { b.header.layer = 1; }, absl::StatusCode::kInvalidArgument,
       "layer 1 is not a routed layer"},
      {[](events::RoutingEventBatch& b) { b.header.top_k = 2; }, absl::StatusCode::kInvalidArgument,
       "pathways has 80 entries, expected 40"},
      {[](events::RoutingEventBatch& b) { b.pathways.back() = 99; },
       absl::StatusCode::kInvalidArgument, "pathways[79] = 99 >= num_pathways 16"},
      {[](events::RoutingEventBatch& b) { b.token_id.back() = 5000; },
       absl::StatusCode::kInvalidArgument, "token_id[19] = 5000"},
      {[](events::RoutingEventBatch& b) { b.weights.back() = NAN; },
       absl::StatusCode::kInvalidArgument, "weights[79] is not finite"},
      {[](events::RoutingEventBatch& b) { b.header.run_id = "nope"; }, absl::StatusCode::kNotFound,
       "unknown run 'nope'"},
  };
  for (const Case& c : cases) {
    events::RoutingEventBatch b = good;
    c.mutate(b);
    auto r = store_->Write(b);
    EXPECT_EQ(r.status().code(), c.code) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(c.msg));
  }
  events::RoutingEventBatch big = MakeBatch(TestSpec("r1"), "w", 1, 100001, 2, 2);  // > 100000
  EXPECT_EQ(store_->Write(big).status().code(), absl::StatusCode::kResourceExhausted);
  ExpectCountsMatch("r1");
  auto sum = *store_->GetRun("r1");
  EXPECT_EQ(sum.batches, 1u);
  EXPECT_EQ(sum.watermark, 1u);
  // The valid batch with the same seq is still accepted (nothing partial was recorded).
  Write(good);
  ExpectCountsMatch("r1");
}

TEST_F(RecorderStoreTest, QueryEventsFiltersAndLimits) {
  ASSERT_TRUE(store_->CreateRun(TestSpec("r1")).ok());
  for (uint64_t s = 0; s < 6; ++s) Write(MakeBatch(TestSpec("r1"), "w", s, 40, s * 5, s));
  EventQueryData q;
  q.run_id = "r1";
  q.has_layer = true;
  q.layer = 2;
  q.min_step = 5;
  q.max_step = 15;
  q.has_pathway = true;
  q.pathway = 3;
  uint64_t want = 0;
  for (const auto& b : sent_) {
    if (b.header.layer != 2 || b.header.step < 5 || b.header.step > 15) continue;
    for (size_t i = 0; i < b.num_events(); ++i) {
      for (int j = 0; j < 4; ++j) want += b.pathways[i * 4 + j] == 3;
    }
  }
  uint64_t got = 0;
  ASSERT_TRUE(store_
                  ->QueryEvents(q,
                                [&](events::RoutingEventBatch&& b) {
                                  EXPECT_EQ(b.header.layer, 2u);
                                  EXPECT_GE(b.header.step, 5u);
                                  EXPECT_LE(b.header.step, 15u);
                                  EXPECT_EQ(b.header.top_k, 4u);
                                  for (size_t i = 0; i < b.num_events(); ++i) {
                                    int hits = 0;
                                    for (int j = 0; j < 4; ++j) hits += b.pathways[i * 4 + j] == 3;
                                    EXPECT_EQ(hits, 1);
                                    ++got;
                                  }
                                  EXPECT_EQ(b.header.writer_id, "w");
                                  EXPECT_EQ(b.header.split, "train");
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(got, want);
  EXPECT_GT(got, 0u);
  // Limit, across layers.
  EventQueryData all;
  all.run_id = "r1";
  all.limit = 77;
  uint64_t n = 0;
  ASSERT_TRUE(store_
                  ->QueryEvents(all,
                                [&](events::RoutingEventBatch&& b) {
                                  n += b.num_events();
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(n, 77u);
}

TEST_F(RecorderStoreTest, CountsOnlyRunAndRetention) {
  ASSERT_TRUE(store_->CreateRun(TestSpec("counts", false)).ok());
  Write(MakeBatch(TestSpec("counts", false), "w", 0, 30, 1, 1));
  EventQueryData q;
  q.run_id = "counts";
  EXPECT_EQ(store_->QueryEvents(q, [](events::RoutingEventBatch&&) { return true; }).code(),
            absl::StatusCode::kFailedPrecondition);
  ExpectCountsMatch("counts");

  RunSpecData ret = TestSpec("ret");
  ret.raw_retention_steps = 10;
  ASSERT_TRUE(store_->CreateRun(ret).ok());
  for (uint64_t s = 0; s <= 40; s += 2) {
    ASSERT_TRUE(store_->Write(MakeBatch(ret, "w", s, 5, s, s, "", 0)).ok());
  }
  q.run_id = "ret";
  uint64_t min_seen = UINT64_MAX, events = 0;
  ASSERT_TRUE(store_
                  ->QueryEvents(q,
                                [&](events::RoutingEventBatch&& b) {
                                  min_seen = std::min(min_seen, b.header.step);
                                  events += b.num_events();
                                  return true;
                                })
                  .ok());
  EXPECT_GE(min_seen, 31u);   // the last 10 steps (31..40) are kept, older ones deleted
  EXPECT_EQ(events, 5u * 5);  // steps 32..40 step 2 = 5 batches of 5 tokens
  // Counts keep everything.
  auto t = store_->GetTotals("ret", 0, "");
  EXPECT_EQ(t->tokens, 21u * 5);
}

TEST_F(RecorderStoreTest, DeleteRunRemovesEverything) {
  ASSERT_TRUE(store_->CreateRun(TestSpec("r1")).ok());
  Write(MakeBatch(TestSpec("r1"), "w", 0, 20, 1, 1));
  auto n = store_->DeleteRun("r1");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 20u);
  EXPECT_EQ(store_->GetRun("r1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteRun("r1").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(*store_->CreateRun(TestSpec("r1")));
  CountsQueryData q;
  q.run_id = "r1";
  EXPECT_TRUE(store_->GetCounts(q)->count.empty());
  EXPECT_EQ(store_->GetRun("r1")->events, 0u);
  // A batch with the old seq is new for the new run.
  EXPECT_FALSE(store_->Write(MakeBatch(TestSpec("r1"), "w", 0, 20, 1, 1))->duplicate);
  Reopen();
  EXPECT_EQ(store_->GetRun("r1")->events, 20u);
}

TEST_F(RecorderStoreTest, ConcurrentWritersSameAndDifferentRuns) {
  ASSERT_TRUE(store_->CreateRun(TestSpec("a")).ok());
  ASSERT_TRUE(store_->CreateRun(TestSpec("b")).ok());
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (uint64_t s = 0; s < 10; ++s) {
        // Writers 0,1 -> run a; 2,3 -> run b; each sends every batch twice.
        RunSpecData spec = TestSpec(w < 2 ? "a" : "b");
        events::RoutingEventBatch b =
            MakeBatch(spec, "w" + std::to_string(w), s, 25, s, w * 100 + s);
        EXPECT_TRUE(store_->Write(b).ok());
        EXPECT_TRUE(store_->Write(b)->duplicate);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int w = 0; w < 2; ++w) {
    for (uint64_t s = 0; s < 10; ++s) {
      ref_.Add(MakeBatch(TestSpec("a"), "w" + std::to_string(w), s, 25, s, w * 100 + s), 4);
    }
  }
  ExpectCountsMatch("a");
  EXPECT_EQ(store_->GetRun("b")->events, 2u * 10 * 25);
  EXPECT_EQ(store_->ListRuns()->runs.size(), 2u);
}

// One meaning of "split" (issue 22): an empty selector is every split except controls
// ("S/<control>"), a control only when named; every result names the splits it holds.
TEST_F(RecorderStoreTest, EmptySplitMeansEverySplitExceptControls) {
  ASSERT_TRUE(*store_->CreateRun(TestSpec("r1")));
  const RunSpecData spec = TestSpec("r1");
  BruteCounts trained, control;
  uint64_t seq = 0;
  for (const char* split : {"train", "valid", "valid/fresh_routers", "valid/dense_slices"}) {
    for (int i = 0; i < 3; ++i, ++seq) {
      // Layers 0, 2, 4: layer 2 once per split.
      events::RoutingEventBatch b =
          MakeBatch(spec, "w", seq, 40, seq, static_cast<uint32_t>(seq), split, i);
      ASSERT_TRUE(store_->Write(b).ok());
      (IsControlSplit(split) ? control : trained).Add(b, spec.top_k);
      if (std::string(split) == "valid/fresh_routers") ref_.Add(b, spec.top_k);
    }
  }
  CountsQueryData q;
  q.run_id = "r1";
  q.layer = 2;
  auto all = store_->GetCounts(q);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(ToMap(*all), trained.Layer(2));
  EXPECT_EQ(all->splits, (std::vector<std::string>{"train", "valid"}));
  q.split = "valid/fresh_routers";
  auto ctl = store_->GetCounts(q);
  ASSERT_TRUE(ctl.ok());
  EXPECT_EQ(ToMap(*ctl), ref_.Layer(2));
  EXPECT_EQ(ctl->splits, (std::vector<std::string>{"valid/fresh_routers"}));
  q.min_step = 0;  // the step-bucket path filters the same way
  q.max_step = 1000;
  q.split = "";
  EXPECT_EQ(ToMap(*store_->GetCounts(q)), trained.Layer(2));

  auto totals = store_->GetTotals("r1", 2, "");
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->tokens, trained.tokens[2]);
  EXPECT_EQ(totals->splits, (std::vector<std::string>{"train", "valid"}));
  EXPECT_EQ(store_->GetTotals("r1", 2, "valid/dense_slices")->tokens, 40u);

  EventQueryData eq;
  eq.run_id = "r1";
  eq.limit = 1 << 30;
  uint64_t events = 0;
  ASSERT_TRUE(store_
                  ->QueryEvents(eq,
                                [&](events::RoutingEventBatch&& b) {
                                  EXPECT_FALSE(IsControlSplit(b.header.split)) << b.header.split;
                                  events += b.num_events();
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(events, trained.events);
  eq.split = "valid/dense_slices";
  events = 0;
  ASSERT_TRUE(store_
                  ->QueryEvents(eq,
                                [&](events::RoutingEventBatch&& b) {
                                  EXPECT_EQ(b.header.split, "valid/dense_slices");
                                  events += b.num_events();
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(events, 3u * 40);
  // The summary still lists every split, controls included.
  EXPECT_EQ(store_->GetRun("r1")->splits.size(), 4u);
}

// Bounds on stored strings and collections (issue 23): refused with the field named.
TEST_F(RecorderStoreTest, LabelsSplitsAndWriterIdsAreBounded) {
  RunSpecData spec = TestSpec("big");
  spec.labels["note"] = std::string(10 << 20, 'x');
  absl::StatusOr<bool> r = store_->CreateRun(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("labels['note'] value"));
  EXPECT_LT(r.status().message().size(), 400u);

  spec = TestSpec("big");
  for (int i = 0; i < 100000; ++i) spec.labels["k" + std::to_string(i)] = "v";
  r = store_->CreateRun(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("labels has 100001"));

  spec = TestSpec("big");
  spec.labels[std::string(1 << 20, 'k')] = "v";
  r = store_->CreateRun(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("labels key"));
  EXPECT_LT(r.status().message().size(), 400u);

  spec = TestSpec("big");
  for (int i = 0; i < 10; ++i) spec.labels["k" + std::to_string(i)] = std::string(4000, 'v');
  r = store_->CreateRun(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()), ::testing::HasSubstr("bytes of keys and values"));
  EXPECT_FALSE(store_->GetRun("big").ok());  // nothing was created

  ASSERT_TRUE(*store_->CreateRun(TestSpec("r1")));
  events::RoutingEventBatch b = MakeBatch(TestSpec("r1"), std::string(300, 'w'), 0, 4, 0, 1);
  absl::Status s = store_->Write(b).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("writer_id"));
  b = MakeBatch(TestSpec("r1"), "w", 0, 4, 0, 1, std::string(100, 's'));
  s = store_->Write(b).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("split"));
  b = MakeBatch(TestSpec("r1"), "w", 0, 4, 0, 1, "bad\nsplit");
  EXPECT_EQ(store_->Write(b).status().code(), absl::StatusCode::kInvalidArgument);
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(
        store_->Write(MakeBatch(TestSpec("r1"), "w", i, 1, 0, 1, "s" + std::to_string(i))).ok());
  }
  s = store_->Write(MakeBatch(TestSpec("r1"), "w", 64, 1, 0, 1, "one-too-many")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("splits per run"));
}

TEST_F(RecorderStoreTest, ListRunsPages) {
  for (int i = 0; i < 250; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "run-%03d", i);
    ASSERT_TRUE(*store_->CreateRun(TestSpec(id)));
  }
  std::vector<std::string> seen;
  ListRunsQueryData q;
  int pages = 0;
  do {
    auto page = store_->ListRuns(q);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->runs.size(), kDefaultListRunsPage);
    for (const auto& r : page->runs) seen.push_back(r.spec.run_id);
    q.page_token = page->next_page_token;
    ++pages;
  } while (!q.page_token.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 250u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.front(), "run-000");
  q.page_size = 7;
  q.page_token = "run-100";
  auto page = store_->ListRuns(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->runs.size(), 7u);
  EXPECT_EQ(page->runs[0].spec.run_id, "run-101");
  EXPECT_EQ(page->next_page_token, "run-107");
  q.page_size = kMaxListRunsPage + 1;
  EXPECT_EQ(store_->ListRuns(q).status().code(), absl::StatusCode::kInvalidArgument);
  q.page_size = 0;
  q.page_token = "bad token!";
  EXPECT_EQ(store_->ListRuns(q).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace monoroute::recorder
