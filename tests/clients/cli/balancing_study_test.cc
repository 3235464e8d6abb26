// `monoroute study balancing` end to end on a tiny dense model: every (method, seed) run is
// fine-tuned, analysed with its controls and summarised; a second invocation resumes from the
// finished runs instead of retraining; bad options name the flag.
#include "clients/cli/balancing_study.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/engine/train.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::cli {
namespace {

namespace fs = std::filesystem;
using engine::testing::TempDir;

TEST(BalancingStudyTest, RunsAnalysesAggregatesAndResumes) {
  TempDir dir;
  const std::string train = dir.Sub("train.txt");
  engine::testing::WriteText(train, engine::testing::StoryCorpus(120));
  // A tiny dense model to fine-tune.
  engine::JobSpec pre = engine::testing::TinyJob(train, dir.Sub("pre"));
  pre.optim.max_steps = 4;
  auto base = engine::RunTrainingJob(pre, nullptr);
  ASSERT_TRUE(base.ok()) << base.status();

  BalancingStudyOptions o;
  o.model_dir = base->checkpoint_dir;
  o.train_path = train;
  o.out_dir = dir.Sub("study");
  o.methods = {"glbl", "none"};
  o.seeds = 2;
  o.steps = 3;
  o.batch_size = 4;
  o.seq_len = 32;
  o.threads = 1;
  o.tokenizer_dir = MONOROUTE_TOKENIZER_DIR;
  o.overrides = {"routing.num_pathways=8", "routing.top_k=2", "routing.router_hidden=16",
                 "data.valid_fraction=0.2"};
  o.analysis.bootstrap = 20;
  o.analysis.category_permutations = 0;
  ASSERT_TRUE(RunBalancingStudy(o).ok());

  std::ifstream in(fs::path(o.out_dir) / "study.json");
  nlohmann::json doc = nlohmann::json::parse(in);
  ASSERT_EQ(doc["runs"].size(), 4u);
  for (const auto& r : doc["runs"]) {
    const auto& m = r["metrics"];
    EXPECT_TRUE(m["val_loss"].is_number()) << r.dump();
    EXPECT_TRUE(m["max_violation_valid"].is_number());
    EXPECT_TRUE(m["mi_excess_normalised"].is_number());
    // Fine-tunes of a dense model record the three controls.
    EXPECT_TRUE(m["mi_vs_fresh_routers"].is_number());
    EXPECT_TRUE(m["mi_vs_dense_slices"].is_number());
    EXPECT_TRUE(m["mi_vs_trained_trunk_fresh_routers"].is_number());
    EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "runs" / r["name"].get<std::string>() /
                           "llm_routing_results.json"));
  }
  for (const char* method : {"glbl", "none"}) {
    const auto& v = doc["methods_summary"][method]["val_loss"];
    EXPECT_EQ(v["n"], 2);
    ASSERT_TRUE(v["ci"].is_array());
    EXPECT_LE(v["ci"][0].get<double>(), v["mean"].get<double>());
  }
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "study.png"));
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "study.md"));

  // Resume: the runs' results are read, nothing is retrained (their checkpoints may go).
  const auto before = fs::last_write_time(fs::path(o.out_dir) / "runs" / "glbl-seed1" / "result.json");
  ASSERT_TRUE(RunBalancingStudy(o).ok());
  EXPECT_EQ(fs::last_write_time(fs::path(o.out_dir) / "runs" / "glbl-seed1" / "result.json"),
            before);
}

TEST(BalancingStudyTest, BadOptionsNameTheFlag) {
  BalancingStudyOptions o;
  absl::Status s = RunBalancingStudy(o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--model"), std::string::npos);
  o.model_dir = "/nonexistent";
  o.train_path = "/nonexistent.txt";
  o.seeds = 0;
  s = RunBalancingStudy(o);
  EXPECT_NE(s.message().find("--seeds"), std::string::npos);
}

}  // namespace
}  // namespace monoroute::cli
