// A routed fine-tune with 128 pathways, end to end: `monoroute train` pretrains a tiny dense
// GPT-NeoX, then fine-tunes it routed (num_pathways 128, top_k 8) recording every event into an
// in-process recorder; the analysis' own reader reads the events back (two-word masks, pathways
// beyond 64 selected) and AnalyzeLayer measures all 128 pathways.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <string>

#include "services/analysis/layer_analysis.h"
#include "services/analysis/recorder_reader.h"
#include "tests/services/recorder/recorder_grpc_test_util.h"
#include "tests/testing/command.h"
#include "tests/testing/stories.h"

namespace monoroute::analysis {
namespace {

// Runs `monoroute train` on `spec_yaml` (written beside the data) and returns the checkpoint it
// reports ("" on failure, with the output in a test failure).
std::string Train(const recorder::testing::TempDir& dir, const std::string& name,
                  const std::string& spec_yaml, const std::string& extra) {
  std::ofstream(dir.Sub(name + ".yaml")) << spec_yaml;
  const auto r = ::monoroute::testing::RunCommand(
      std::string(MONOROUTE_BIN_DIR) + "/monoroute train --quiet --config " +
      dir.Sub(name + ".yaml") + " --set output_dir=" + dir.Sub(name) + " " + extra);
  const std::string& out = r.out;
  EXPECT_EQ(r.code, 0) << out;
  std::smatch m;
  if (!std::regex_search(out, m,
                         std::regex("done: step [0-9]+, val_loss \\S+, checkpoint (\\S+)"))) {
    ADD_FAILURE() << out;
    return "";
  }
  return m[1].str();
}

TEST(WideRoutingRecordTest, FinetuneWith128PathwaysRecordsEventsTheAnalysisReads) {
  recorder::testing::TempDir dir;
  recorder::testing::InProcessRecorder rec(dir.Sub("db"));
  ASSERT_TRUE(rec.Start());
  ::monoroute::testing::WriteText(dir.Sub("train.txt"), ::monoroute::testing::Stories(60));
  const std::string data =
      std::string("data: {train_path: ") + dir.Sub("train.txt") +
      ", seq_len: 16, valid_fraction: 0.2, tokenizer_dir: " + MONOROUTE_TOKENIZER_DIR + "}\n";
  // Intermediate 128 = 4 x hidden 32: one neuron per pathway at P = 128.
  const std::string base = Train(dir, "base",
                                 "kind: pretrain\n"
                                 "model: {model_type: gpt_neox, hidden_size: 32, num_layers: 2, "
                                 "num_heads: 4, max_position_embeddings: 64}\n"
                                 "routing: {enabled: false}\n" +
                                     data +
                                     "optim: {max_steps: 2, warmup_steps: 1, batch_size: 4}\n"
                                     "eval_every: 0\nlog_every: 1\nthreads: 1\n",
                                 "");
  ASSERT_FALSE(base.empty());
  const std::string tuned = Train(
      dir, "tuned",
      "kind: finetune\nmodel_dir: " + base +
          "\nrouting: {enabled: true, num_pathways: 128, top_k: 8, router_hidden: 16}\n" + data +
          "optim: {max_steps: 4, warmup_steps: 1, batch_size: 4}\n"
          "eval_every: 0\nlog_every: 1\nthreads: 1\nrecord: {sample_rate: 1}\n",
      "--recorder " + rec.address() + " --run-id wide128");
  ASSERT_FALSE(tuned.empty());

  RecorderReaderOptions ro;
  ro.address = rec.address();
  auto reader = RecorderReader::Create(ro);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto run = (*reader)->GetRun("wide128");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->spec().num_pathways(), 128u);
  EXPECT_EQ(run->spec().top_k(), 8u);
  ASSERT_GT(run->spec().routed_layers_size(), 0);
  const uint32_t layer = run->spec().routed_layers(0);
  auto builder = RoutingTableBuilder::Create(128, 8);
  ASSERT_TRUE(builder.ok());
  const absl::Status read =
      (*reader)->ReadEvents("wide128", layer, "train", 0, 0, 1000000, &*builder);
  ASSERT_TRUE(read.ok()) << read;
  const RoutingTable t = builder->Build();
  ASSERT_GT(t.events(), 100u);
  EXPECT_EQ(t.mask_words, 2u);
  uint64_t beyond = 0;
  for (size_t i = 0; i < t.events(); ++i) beyond += t.mask_row(i)[1] != 0;
  EXPECT_GT(beyond, 0u) << "no event selected a pathway >= 64";
  LayerContext ctx;
  ctx.vocab_size = 50257;
  AnalysisOptions o;
  o.bootstrap = 0;
  o.min_token_count = 2;
  absl::StatusOr<LayerResult> L = AnalyzeLayer(t, ctx, o, nullptr);
  ASSERT_TRUE(L.ok()) << L.status();
  EXPECT_EQ(L->num_pathways, 128u);
  ASSERT_EQ(L->pathways.size(), 128u);
  EXPECT_EQ(L->events_used, t.events());
  EXPECT_TRUE(std::isfinite(L->mi.observed));
  uint64_t load = 0;
  for (const PathwayResult& p : L->pathways) load += p.load;
  EXPECT_EQ(load, t.events() * 8);
}

}  // namespace
}  // namespace monoroute::analysis
