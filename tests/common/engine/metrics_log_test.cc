// Tests of the JSONL metrics log (and its truncation on resume) and the progress bar.
#include "common/engine/metrics_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/base/file_util.h"
#include "common/engine/progress_bar.h"
#include "common/engine/progress_fields.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

std::vector<nlohmann::json> Lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(*ReadFile(path));
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(MetricsLogTest, WritesStepAndEvalLines) {
  testing::TempDir dir;
  auto log = MetricsLog::Open(dir.Sub("m.jsonl"), -1);
  ASSERT_TRUE(log.ok()) << log.status();
  StepReport r;
  r.step = 1;
  r.total_steps = 2;
  r.lm_loss = 3.5;
  r.balance.push_back({0, {0.5, 0.5}, 0.0, std::log(2.0), 1.0});
  (*log)->WriteStep(r);
  (*log)->WriteEval({1, 3.25, std::exp(3.25), "valid"});
  auto lines = Lines(dir.Sub("m.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["type"], "step");
  EXPECT_EQ(lines[0]["lm_loss"], 3.5);
  EXPECT_EQ(lines[0]["balance"][0]["load"][1], 0.5);
  EXPECT_EQ(lines[0]["balance"][0]["max_violation"], 0.0);
  EXPECT_EQ(lines[1]["type"], "eval");
  EXPECT_EQ(lines[1]["val_loss"], 3.25);
  // The one field list reads its own lines back (the trainer's GetJobMetrics does).
  StepReport back;
  ProgressFromJson(lines[0], &back);
  EXPECT_EQ(back.step, 1);
  EXPECT_EQ(back.total_steps, 2);
  EXPECT_DOUBLE_EQ(back.lm_loss, 3.5);
  ASSERT_EQ(back.balance.size(), 1u);
  EXPECT_EQ(back.balance[0].load, std::vector<double>({0.5, 0.5}));
  EXPECT_DOUBLE_EQ(back.balance[0].balance_loss, 1.0);
  EvalReport eval;
  ProgressFromJson(lines[1], &eval);
  EXPECT_EQ(eval.split, "valid");
  EXPECT_DOUBLE_EQ(eval.val_loss, 3.25);
}

TEST(MetricsLogTest, NanIsNullAndReadsBackAsNan) {
  StepReport r;
  r.lm_loss = std::nan("");
  nlohmann::json j = ProgressToJson(r);
  EXPECT_TRUE(j["lm_loss"].is_null());
  StepReport back;
  ProgressFromJson(j, &back);
  EXPECT_TRUE(std::isnan(back.lm_loss));
}

TEST(MetricsLogTest, ResumeDropsLinesPastTheCheckpoint) {
  testing::TempDir dir;
  std::string path = dir.Sub("m.jsonl");
  testing::WriteText(path,
                     "{\"type\":\"step\",\"step\":1}\n{\"type\":\"step\",\"step\":2}\n"
                     "{\"type\":\"step\",\"step\":3}\n{\"type\":\"st");  // torn last line
  auto log = MetricsLog::Open(path, 2);
  ASSERT_TRUE(log.ok());
  StepReport r;
  r.step = 3;
  (*log)->WriteStep(r);
  auto lines = Lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["step"], 1);
  EXPECT_EQ(lines[1]["step"], 2);
  EXPECT_EQ(lines[2]["step"], 3);
  EXPECT_TRUE(lines[2].contains("lm_loss"));
}

TEST(ProgressBarTest, PlainLinesWithoutTty) {
  std::ostringstream out;
  ProgressBar bar(&out, false);
  StepReport r;
  r.step = 5;
  r.total_steps = 10;
  r.lm_loss = 2.5;
  r.lr = 1e-3;
  r.tokens_per_s = 1234;
  r.eta_s = 65;
  bar.Update(r);
  bar.Message("eval");
  EXPECT_EQ(out.str(), "step 5/10 loss 2.5000 lr 1.00e-03 1234 tok/s ETA 1m05s\neval\n");
}

TEST(ProgressBarTest, OverwritesOnTty) {
  std::ostringstream out;
  ProgressBar bar(&out, true, 10);
  StepReport r;
  r.step = 5;
  r.total_steps = 10;
  bar.Update(r);
  bar.Finish();
  EXPECT_THAT(out.str(), ::testing::StartsWith("\r[#####.....]  50% step 5/10"));
  EXPECT_THAT(out.str(), ::testing::EndsWith("\n"));
  EXPECT_EQ(FormatDuration(3725), "1h02m05s");
}

}  // namespace
}  // namespace monoroute::engine
