// `monoroute train --recorder ADDR --run-id ID` (the way Kubernetes workers record): a job run
// as 2 local ranks (--nproc-per-node 2) records exactly the events of the same job run by one
// process, under one run, which ends finished; a refused run fails the command naming it.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/services/recorder/recorder_grpc_test_util.h"
#include "tests/testing/command.h"
#include "tests/testing/stories.h"

namespace monoroute::recorder {
namespace {

class TrainRecordingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::monoroute::testing::WriteText(dir_.Sub("train.txt"), ::monoroute::testing::Stories(60));
    std::ofstream spec(dir_.Sub("job.yaml"));
    spec << "kind: pretrain\n"
            "model: {hidden_size: 16, num_layers: 2, num_heads: 2, max_position_embeddings: 64}\n"
            "routing: {enabled: true, num_pathways: 4, top_k: 2, router_hidden: 8}\n"
            "data: {train_path: "
         << dir_.Sub("train.txt")
         << ", seq_len: 16, valid_fraction: 0.2, tokenizer_dir: " << MONOROUTE_TOKENIZER_DIR
         << "}\n"
            "optim: {max_steps: 4, warmup_steps: 1, batch_size: 4}\n"
            "eval_every: 0\ncheckpoint_every: 2\nlog_every: 1\nthreads: 1\n"
            "record: {sample_rate: 1}\ndistributed: {timeout_s: 60}\n";
  }
  std::string Train(const std::string& out, const std::string& run, const std::string& extra,
                    int* code) {
    const auto r = ::monoroute::testing::RunCommand(
        std::string(MONOROUTE_BIN_DIR) + "/monoroute train --quiet --config " +
        dir_.Sub("job.yaml") + " --set output_dir=" + dir_.Sub(out) + " --recorder " +
        rec_.address() + " --run-id " + run + " " + extra);
    *code = r.code;
    return r.out;
  }
  testing::TempDir dir_;
  testing::InProcessRecorder rec_{dir_.Sub("db")};
};

TEST_F(TrainRecordingTest, TwoRanksRecordTheOneRankEventsOnce) {
  ASSERT_TRUE(rec_.Start());
  int code = 0;
  std::string out = Train("one", "one-rank", "", &code);
  ASSERT_EQ(code, 0) << out;
  out = Train("two", "two-ranks", "--nproc-per-node 2", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("[rank 1] recorder run two-ranks:"), std::string::npos) << out;
  auto a = rec_.store()->GetRun("one-rank");
  auto b = rec_.store()->GetRun("two-ranks");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_GT(a->events, 0u);
  EXPECT_EQ(b->events, a->events);
  EXPECT_TRUE(a->finished);
  EXPECT_TRUE(b->finished);
}

TEST_F(TrainRecordingTest, RefusedRunFailsNamingIt) {
  ASSERT_TRUE(rec_.Start());
  RunSpecData other;
  other.run_id = "taken";
  other.routed_layers = {0};
  other.num_pathways = 8;
  other.top_k = 1;
  other.vocab_size = 10;
  ASSERT_TRUE(rec_.store()->CreateRun(other).ok());
  int code = 0;
  std::string out = Train("taken", "taken", "", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("recorder refused run 'taken'"), std::string::npos) << out;
}

}  // namespace
}  // namespace monoroute::recorder
