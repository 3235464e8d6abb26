// `monoroute study balancing` end to end on a tiny dense model: every (method, seed) run is
// fine-tuned (checked for saturation at its checkpoints), analysed with its controls and
// summarised with the primary endpoint; a second invocation resumes from the finished runs
// instead of retraining; runs with two data-parallel ranks; bad options name the flag.
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

// A tiny dense model to fine-tune (its checkpoint dir) and the study's options on it.
BalancingStudyOptions TinyStudy(TempDir& dir) {
  const std::string train = dir.Sub("train.txt");
  engine::testing::WriteText(train, engine::testing::StoryCorpus(120));
  engine::JobSpec pre = engine::testing::TinyJob(train, dir.Sub("pre"));
  pre.optim.max_steps = 4;
  auto base = engine::RunTrainingJob(pre, nullptr);
  EXPECT_TRUE(base.ok()) << base.status();
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
  o.lexicon = MONOROUTE_LEXICON_DIR;  // the word categories of the primary endpoint
  o.overrides = {"routing.num_pathways=8", "routing.top_k=2", "routing.router_hidden=16",
                 "data.valid_fraction=0.2"};
  o.analysis.bootstrap = 20;
  o.analysis.category_permutations = 19;
  o.check_every = 1;
  o.check_sequences = 8;
  return o;
}

TEST(BalancingStudyTest, RunsAnalysesAggregatesAndResumes) {
  TempDir dir;
  BalancingStudyOptions o = TinyStudy(dir);
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
    // Checked at every checkpoint; stopped by the rule or at the cap.
    const int steps = r["steps"].get<int>();
    EXPECT_GE(steps, 1);
    EXPECT_LE(steps, 3);
    EXPECT_EQ(r["stop"].get<std::string>() == "saturation",
              steps < 3 || r["saturation_reached"].get<double>() >= 0.9)
        << r.dump();
    EXPECT_EQ(r["saturation"]["checks"].size(), static_cast<size_t>(steps));
    EXPECT_EQ(m["steps_trained"], steps);
    // Saturation against the last check: 1 there, with its chance level 1 / C(8, 2).
    const auto& curve = r["saturation"]["router_saturation_vs_last_check"];
    ASSERT_EQ(curve.size(), static_cast<size_t>(steps));
    EXPECT_EQ(curve.back()["layers"][0]["saturation"], 1.0);
    EXPECT_NEAR(curve.back()["layers"][0]["chance"].get<double>(), 1.0 / 28, 1e-12);
    // The primary endpoint per routed layer.
    EXPECT_TRUE(r["primary"].is_object());
    EXPECT_FALSE(r["primary"].empty()) << r.dump();
  }
  // GLBL minus none, per layer and for the layer mean, with a verdict.
  const auto& primary = doc["primary_endpoint"];
  EXPECT_EQ(primary["margin"], 0.01);
  ASSERT_GE(primary["comparisons"].size(), 2u);
  for (const auto& c : primary["comparisons"]) {
    EXPECT_EQ(c["other"], "none");
    EXPECT_EQ(c["n"], 2);
    EXPECT_TRUE(c["verdict"].is_string());
    EXPECT_TRUE(c["ci"][0].is_number());
  }
  EXPECT_EQ(primary["comparisons"].back()["layer"], "mean");
  EXPECT_NE(doc["stopping_rule"].get<std::string>().find("top-k agreement"), std::string::npos);
  for (const char* method : {"glbl", "none"}) {
    const auto& v = doc["methods_summary"][method]["val_loss"];
    EXPECT_EQ(v["n"], 2);
    ASSERT_TRUE(v["ci"].is_array());
    EXPECT_LE(v["ci"][0].get<double>(), v["mean"].get<double>());
  }
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "study.png"));
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "study.md"));

  // Resume: the runs' results are read, nothing is retrained (their checkpoints may go).
  const auto before =
      fs::last_write_time(fs::path(o.out_dir) / "runs" / "glbl-seed1" / "result.json");
  ASSERT_TRUE(RunBalancingStudy(o).ok());
  EXPECT_EQ(fs::last_write_time(fs::path(o.out_dir) / "runs" / "glbl-seed1" / "result.json"),
            before);
}

TEST(BalancingStudyTest, TwoDataParallelRanks) {
  TempDir dir;
  BalancingStudyOptions o = TinyStudy(dir);
  o.methods = {"glbl", "switch"};
  o.seeds = 1;
  o.steps = 4;
  o.check_every = 2;
  o.nproc_per_node = 2;
  o.rank_command = {MONOROUTE_CLI_BINARY, "train"};
  absl::Status s = RunBalancingStudy(o);
  ASSERT_TRUE(s.ok()) << s;
  std::ifstream in(fs::path(o.out_dir) / "study.json");
  nlohmann::json doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["nproc_per_node"], 2);
  ASSERT_EQ(doc["runs"].size(), 2u);
  for (const auto& r : doc["runs"]) {
    EXPECT_EQ(r["world_size"], 2);
    EXPECT_TRUE(r["metrics"]["val_loss"].is_number()) << r.dump();
    EXPECT_TRUE(r["metrics"]["mi_vs_trained_trunk_fresh_routers"].is_number()) << r.dump();
    EXPECT_TRUE(
        fs::exists(fs::path(o.out_dir) / "runs" / r["name"].get<std::string>() / "rank1.log"));
  }
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
  o.seeds = 2;
  o.nproc_per_node = 3;  // 16 sequences do not split over 3 ranks
  s = RunBalancingStudy(o);
  EXPECT_NE(s.message().find("--batch-size"), std::string::npos);
  o.nproc_per_node = 1;
  o.saturation = 1.5;
  s = RunBalancingStudy(o);
  EXPECT_NE(s.message().find("--saturation"), std::string::npos);
}

}  // namespace
}  // namespace monoroute::cli
