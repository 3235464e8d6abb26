// Tests of RunTrainingJob on a tiny model: bit-exact resume on CPU, f over gradient accumulation
// equal to f over the concatenated batch, observer reports and routing events, freeze_base, and
// bad input rejected before any training.
#include "common/engine/train.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <set>

#include "common/base/file_util.h"
#include "common/engine/checkpoint_dir.h"
#include "common/model/checkpoint.h"
#include "common/model/routed_mlp_cost.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::TempDir;

// Records everything; optionally stops after `stop_after` steps.
class RecordingObserver : public TrainingObserver {
 public:
  explicit RecordingObserver(int64_t stop_after = -1, bool events = false)
      : stop_after_(stop_after), events_(events) {}
  void OnStart(int64_t start, int64_t total) override {
    start_step = start;
    total_steps = total;
  }
  void OnStep(const StepReport& r) override {
    steps.push_back(r);
    last_step = r.step;
  }
  void OnEval(const EvalReport& r) override { evals.push_back(r); }
  bool WantsRoutingEvents() const override { return events_; }
  void OnRoutingEvents(const events::RoutingEventBatch& b) override { events.push_back(b); }
  void OnCheckpoint(int64_t step, const std::string& dir, double) override {
    checkpoints.emplace_back(step, dir);
  }
  bool ShouldStop() override { return stop_after_ >= 0 && last_step >= stop_after_; }

  int64_t start_step = -1, total_steps = -1, last_step = 0;
  std::vector<StepReport> steps;
  std::vector<EvalReport> evals;
  std::vector<events::RoutingEventBatch> events;
  std::vector<std::pair<int64_t, std::string>> checkpoints;

 private:
  int64_t stop_after_;
  bool events_;
};

class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    train_path_ = dir_.Sub("train.txt");
    testing::WriteText(train_path_, testing::StoryCorpus(120));
  }
  JobSpec Tiny(const std::string& out) { return testing::TinyJob(train_path_, dir_.Sub(out)); }
  TempDir dir_;
  std::string train_path_;
};

model::GPTNeo LoadFinal(const std::string& output_dir) {
  auto latest = LatestCheckpoint(output_dir);
  EXPECT_TRUE(latest.has_value());
  auto m = model::LoadGPTNeo(latest->second);
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

void ExpectBitEqual(const model::GPTNeo& a, const model::GPTNeo& b) {
  auto pb = b->named_parameters(true);
  int n = 0;
  for (const auto& p : a->named_parameters(true)) {
    const torch::Tensor* q = pb.find(p.key());
    ASSERT_NE(q, nullptr) << p.key();
    EXPECT_TRUE(torch::equal(p.value(), *q))
        << p.key() << " differs by " << (p.value() - *q).abs().max().item<double>();
    ++n;
  }
  auto bb = b->named_buffers(true);
  for (const auto& p : a->named_buffers(true)) {
    const torch::Tensor* q = bb.find(p.key());
    if (q != nullptr && p.value().dtype() == torch::kFloat) {
      EXPECT_TRUE(torch::equal(p.value(), *q)) << p.key();
    }
  }
  EXPECT_GT(n, 10);
}

struct ResumeCase {
  const char* name;
  bool routed;
  const char* method;
  int grad_accum;
  int64_t hidden = 0;    // model width (intermediate 4x); 0: TinyJob's
  int64_t pathways = 0;  // P; 0: TinyJob's
  int64_t top_k = 0;     // k; 0: TinyJob's
};

class ResumeTest : public TrainTest, public ::testing::WithParamInterface<ResumeCase> {};

// Run N steps; run k steps, stop, resume to N; every parameter must be bit-equal.
TEST_P(ResumeTest, ResumedRunEqualsUninterruptedBitForBit) {
  const ResumeCase& c = GetParam();
  auto spec_for = [&](const std::string& out) {
    JobSpec s = Tiny(out);
    s.routing.enabled = c.routed;
    s.routing.balancing.method = *model::ParseBalancingMethod(c.method);
    s.routing.balancing.bias_update_rate = 0.01;
    s.optim.grad_accum = c.grad_accum;
    s.checkpoint_every = 2;
    s.keep_checkpoints = 2;
    if (c.hidden > 0) {
      s.model.hidden_size = c.hidden;
      s.model.intermediate_size = 4 * c.hidden;
      s.routing.num_pathways = c.pathways;
      s.routing.top_k = c.top_k;
    }
    return s;
  };
  if (c.hidden > 0) {  // the case exists to run RoutedCompute::kAuto's gather path
    model::RoutedMlpShape shape;
    shape.tokens = Tiny("probe").optim.batch_size * Tiny("probe").data.seq_len;
    shape.hidden = c.hidden;
    shape.intermediate = 4 * c.hidden;
    shape.pathways = c.pathways;
    shape.top_k = c.top_k;
    ASSERT_EQ(model::ChooseRoutedCompute(shape, /*on_cpu=*/true), model::RoutedCompute::kGather);
  }
  RecordingObserver full_obs;
  auto full = RunTrainingJob(spec_for("full"), &full_obs);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->final_step, 8);
  EXPECT_FALSE(full->stopped_early);

  JobSpec part = spec_for("part");
  RecordingObserver stop_obs(/*stop_after=*/3);
  auto first = RunTrainingJob(part, &stop_obs);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->stopped_early);
  EXPECT_EQ(first->final_step, 3);
  EXPECT_TRUE(std::isnan(first->final_val_loss));
  ASSERT_EQ(LatestCheckpoint(part.output_dir)->first, 3);

  // A kill while writing the next checkpoint leaves a staging dir: ignored on resume.
  ASSERT_TRUE(MakeStagingDir(part.output_dir, 4).ok());
  RecordingObserver resume_obs;
  auto second = RunTrainingJob(part, &resume_obs);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(resume_obs.start_step, 3);
  EXPECT_EQ(second->final_step, 8);
  ASSERT_FALSE(resume_obs.steps.empty());
  EXPECT_EQ(resume_obs.steps.front().step, 4);
  EXPECT_EQ(resume_obs.steps.back().tokens_seen, full_obs.steps.back().tokens_seen);
  EXPECT_EQ(resume_obs.steps.back().lm_loss, full_obs.steps.back().lm_loss);
  EXPECT_EQ(second->final_val_loss, full->final_val_loss);
  ExpectBitEqual(LoadFinal(spec_for("full").output_dir), LoadFinal(part.output_dir));

  // The metrics log reads as one run: steps 1..8 once each.
  std::string log = *ReadFile((fs::path(part.output_dir) / "metrics.jsonl").string());
  size_t n_steps = 0;
  for (size_t p = log.find("\"type\":\"step\""); p != std::string::npos;
       p = log.find("\"type\":\"step\"", p + 1)) {
    ++n_steps;
  }
  EXPECT_EQ(n_steps, 8u);
}

INSTANTIATE_TEST_SUITE_P(Methods, ResumeTest,
                         ::testing::Values(ResumeCase{"glbl_accum2", true, "glbl", 2},
                                           ResumeCase{"aux_free", true, "aux_free", 1},
                                           ResumeCase{"dense", false, "glbl", 1},
                                           ResumeCase{"auto_gather", true, "glbl", 1, 128, 64, 1}),
                         [](const ::testing::TestParamInfo<ResumeCase>& i) {
                           return std::string(i.param.name);
                         });

TEST_F(TrainTest, ResumeAfterLosingTheNewestCheckpoint) {
  // A kill between checkpoints: the run resumes from an older checkpoint, redoes the lost steps,
  // and still ends bit-equal.
  JobSpec full = Tiny("full");
  full.routing.enabled = true;
  ASSERT_TRUE(RunTrainingJob(full, nullptr).ok());
  JobSpec part = Tiny("part");
  part.routing.enabled = true;
  part.checkpoint_every = 2;
  part.keep_checkpoints = 5;
  RecordingObserver stop_obs(5);
  ASSERT_TRUE(RunTrainingJob(part, &stop_obs).ok());
  auto all = ListCheckpoints(part.output_dir);
  ASSERT_EQ(all.back().first, 5);
  fs::remove_all(all.back().second);  // as if killed before step 5's checkpoint was written
  RecordingObserver resume_obs;
  ASSERT_TRUE(RunTrainingJob(part, &resume_obs).ok());
  EXPECT_EQ(resume_obs.start_step, 4);
  ExpectBitEqual(LoadFinal(full.output_dir), LoadFinal(part.output_dir));
}

// f counted over the micro-batches of one optimizer step equals f over the concatenated batch.
TEST_F(TrainTest, AccumulatedFEqualsConcatenatedBatch) {
  auto run = [&](const std::string& out, int batch, int accum, RecordingObserver* obs) {
    JobSpec s = Tiny(out);
    s.routing.enabled = true;
    s.routing.balancing.ema_momentum = 0.0;
    s.optim.batch_size = batch;
    s.optim.grad_accum = accum;
    s.optim.max_steps = 1;
    s.optim.warmup_steps = 0;
    auto r = RunTrainingJob(s, obs);
    ASSERT_TRUE(r.ok()) << r.status();
  };
  RecordingObserver concat, accum;
  run("concat", 8, 1, &concat);
  run("accum", 4, 2, &accum);
  ASSERT_EQ(concat.steps.size(), 1u);
  ASSERT_EQ(accum.steps.size(), 1u);
  const auto& a = concat.steps[0].balance;
  const auto& b = accum.steps[0].balance;
  ASSERT_EQ(a.size(), 1u);  // 2 layers, every 2nd routed
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].load, b[0].load);  // exact: the same counts
  double sum = 0;
  for (double l : a[0].load) sum += l;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_NEAR(concat.steps[0].lm_loss, accum.steps[0].lm_loss, 1e-5);
  // The same gradient (mean over equal-sized micro-batches): the same update up to rounding.
  model::GPTNeo ma = LoadFinal(dir_.Sub("concat")), mb = LoadFinal(dir_.Sub("accum"));
  auto pb = mb->named_parameters(true);
  for (const auto& p : ma->named_parameters(true)) {
    EXPECT_TRUE(torch::allclose(p.value(), *pb.find(p.key()), 1e-4, 1e-6)) << p.key();
  }
}

TEST_F(TrainTest, ReportsStepsEvalsCheckpointsAndRoutingEvents) {
  JobSpec s = Tiny("obs");
  s.routing.enabled = true;
  s.record.sample_rate = 1.0;
  s.optim.max_steps = 4;
  s.optim.grad_accum = 2;
  s.log_every = 2;
  s.eval_every = 2;
  s.checkpoint_every = 2;
  RecordingObserver obs(-1, /*events=*/true);
  auto r = RunTrainingJob(s, &obs);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(obs.start_step, 0);
  EXPECT_EQ(obs.total_steps, 4);
  ASSERT_EQ(obs.steps.size(), 2u);
  EXPECT_EQ(obs.steps[1].step, 4);
  EXPECT_EQ(obs.steps[1].tokens_seen, 4 * 2 * 4 * 32);
  ASSERT_EQ(obs.steps[1].balance.size(), 1u);
  EXPECT_EQ(obs.steps[1].balance[0].layer, 0);
  EXPECT_EQ(obs.steps[1].balance[0].load.size(), 8u);
  EXPECT_GT(obs.steps[1].balance[0].load_entropy, 0.0);
  EXPECT_LE(obs.steps[1].balance[0].load_entropy, std::log(8.0) + 1e-9);
  EXPECT_GT(obs.steps[1].balance_loss, 0.0);
  EXPECT_NEAR(obs.steps[1].total_loss, obs.steps[1].lm_loss + 0.1 * obs.steps[1].balance_loss,
              0.01 * obs.steps[1].balance_loss);  // alpha 0.1 x 1 routed layer
  // One periodic eval (step 2) and the final one (step 4, whole split).
  ASSERT_EQ(obs.evals.size(), 2u);
  EXPECT_EQ(obs.evals[1].step, 4);
  EXPECT_EQ(obs.evals[1].val_loss, r->final_val_loss);
  EXPECT_NEAR(obs.evals[1].perplexity, std::exp(r->final_val_loss), 1e-9);
  ASSERT_EQ(obs.checkpoints.size(), 2u);
  EXPECT_EQ(obs.checkpoints[1].second, r->checkpoint_dir);
  EXPECT_TRUE(fs::exists(fs::path(r->checkpoint_dir) / "model.safetensors"));
  EXPECT_TRUE(fs::exists(fs::path(r->checkpoint_dir) / "vocab.json"));
  EXPECT_TRUE(fs::exists(fs::path(r->checkpoint_dir) / "trainer_state.pt"));

  // Train events: 4 steps x 2 micro-batches x 1 layer; then the valid split's batches.
  std::set<uint64_t> ids;
  int64_t train_blocks = 0, valid_tokens = 0, control_tokens = 0;
  for (const events::RoutingEventBatch& b : obs.events) {
    ids.insert(b.header.batch_id);
    ASSERT_EQ(b.header.top_k, 2u);
    ASSERT_EQ(b.header.layer, 0u);
    events::RoutingEventBatch sent = b;  // as an uploader sends it: a valid batch
    sent.header.writer_id = "w";
    ASSERT_TRUE(sent.Validate().ok()) << sent.Validate();
    size_t n = b.token_id.size();
    ASSERT_EQ(b.pathways.size(), n * 2);
    ASSERT_EQ(b.weights.size(), n * 2);
    ASSERT_EQ(b.position.size(), n);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_LT(b.pathways[2 * i], 8u);
      EXPECT_NE(b.pathways[2 * i], b.pathways[2 * i + 1]);
      EXPECT_NEAR(b.weights[2 * i] + b.weights[2 * i + 1], 1.0f, 1e-5);
      EXPECT_GE(b.weights[2 * i], b.weights[2 * i + 1]);
      if (i + 1 < n && b.sequence_id[i + 1] == b.sequence_id[i]) {
        EXPECT_EQ(b.token_id[i + 1], b.next_token_id[i]);  // consecutive positions
      }
    }
    if (b.header.split == "train") {
      ++train_blocks;
      EXPECT_EQ(n, 4u * 32);
    } else if (b.header.split == "valid") {
      EXPECT_EQ(b.header.step, 4u);
      valid_tokens += static_cast<int64_t>(n);
    } else {
      // A routed pretrain starts from fresh routers: their control and the same routers on the
      // trained trunk, on the same sequences; no dense-slice control (its step-0 MLPs are random).
      EXPECT_TRUE(b.header.split == "valid/fresh_routers" ||
                  b.header.split == "valid/trained_trunk_fresh_routers")
          << b.header.split;
      EXPECT_EQ(b.header.step, 4u);
      control_tokens += static_cast<int64_t>(n);
    }
  }
  EXPECT_EQ(train_blocks, 8);
  EXPECT_GT(valid_tokens, 0);
  EXPECT_EQ(valid_tokens % 32, 0);
  EXPECT_EQ(control_tokens, 2 * valid_tokens);
  EXPECT_EQ(ids.size(), obs.events.size());  // block ids unique

  // A second identical job sends the same block ids (idempotent upload after a resume).
  JobSpec again = s;
  again.output_dir = dir_.Sub("obs2");
  RecordingObserver obs2(-1, true);
  ASSERT_TRUE(RunTrainingJob(again, &obs2).ok());
  ASSERT_EQ(obs2.events.size(), obs.events.size());
  for (size_t i = 0; i < obs.events.size(); ++i) {
    EXPECT_EQ(obs2.events[i].header.batch_id, obs.events[i].header.batch_id);
    EXPECT_EQ(obs2.events[i].pathways, obs.events[i].pathways);
  }
}

// Events of one split, in arrival order.
std::vector<const events::RoutingEventBatch*> OfSplit(const RecordingObserver& obs,
                                                      const std::string& split) {
  std::vector<const events::RoutingEventBatch*> out;
  for (const events::RoutingEventBatch& b : obs.events) {
    if (b.header.split == split) out.push_back(&b);
  }
  return out;
}

TEST_F(TrainTest, FinetuneRecordsControlsOnTheSameSequencesAndDenseJobsRecordSlices) {
  // A dense pretrain records its neuron slices (k of P slices by activation norm) as "valid".
  JobSpec dense = Tiny("dense");
  dense.optim.max_steps = 3;
  RecordingObserver dobs(-1, true);
  auto d = RunTrainingJob(dense, &dobs);
  ASSERT_TRUE(d.ok()) << d.status();
  const auto slices = OfSplit(dobs, "valid");
  ASSERT_FALSE(slices.empty());
  EXPECT_EQ(slices.size(), dobs.events.size());  // nothing else
  for (const auto* b : slices) {
    EXPECT_EQ(b->header.top_k, 2u);
    for (size_t i = 0; i < b->token_id.size(); ++i) {
      EXPECT_NE(b->pathways[2 * i], b->pathways[2 * i + 1]);
      EXPECT_GE(b->weights[2 * i], b->weights[2 * i + 1]);  // ranked by norm
    }
  }
  // A routed fine-tune of it: its routing, the fresh-router control and the dense slices, all on
  // the same sequences; the dense-slice control equals the dense model's own slices (same
  // weights: the fine-tune starts from them).
  JobSpec ft = Tiny("ft");
  ft.kind = "finetune";
  ft.model_dir = d->checkpoint_dir;
  ft.routing.enabled = true;
  ft.optim.max_steps = 3;
  RecordingObserver fobs(-1, true);
  auto f = RunTrainingJob(ft, &fobs);
  ASSERT_TRUE(f.ok()) << f.status();
  const auto trained = OfSplit(fobs, "valid");
  const auto fresh = OfSplit(fobs, "valid/fresh_routers");
  const auto dense_ctl = OfSplit(fobs, "valid/dense_slices");
  ASSERT_EQ(trained.size(), fresh.size());
  ASSERT_EQ(trained.size(), dense_ctl.size());
  ASSERT_EQ(dense_ctl.size(), slices.size());
  for (size_t i = 0; i < trained.size(); ++i) {
    EXPECT_EQ(trained[i]->sequence_id, fresh[i]->sequence_id);
    EXPECT_EQ(trained[i]->token_id, fresh[i]->token_id);
    EXPECT_EQ(trained[i]->token_id, dense_ctl[i]->token_id);
    EXPECT_EQ(dense_ctl[i]->pathways, slices[i]->pathways);
    EXPECT_NE(trained[i]->header.batch_id, fresh[i]->header.batch_id);
  }
  // The fresh-router control is the step-0 routing: rerunning gives the same decisions, and it
  // differs from the trained routing somewhere.
  RecordingObserver again(-1, true);
  JobSpec ft2 = ft;
  ft2.output_dir = dir_.Sub("ft2");
  ASSERT_TRUE(RunTrainingJob(ft2, &again).ok());
  const auto fresh2 = OfSplit(again, "valid/fresh_routers");
  ASSERT_EQ(fresh2.size(), fresh.size());
  bool differs = false;
  for (size_t i = 0; i < fresh.size(); ++i) {
    EXPECT_EQ(fresh2[i]->pathways, fresh[i]->pathways);
    differs |= fresh[i]->pathways != trained[i]->pathways;
  }
  EXPECT_TRUE(differs);
  // The same fresh routers on the trained trunk: the same sequences again. With a frozen trunk
  // it is exactly the fresh-router control (nothing but the routers trained).
  const auto on_trained = OfSplit(fobs, "valid/trained_trunk_fresh_routers");
  ASSERT_EQ(on_trained.size(), trained.size());
  for (size_t i = 0; i < trained.size(); ++i) {
    EXPECT_EQ(on_trained[i]->sequence_id, trained[i]->sequence_id);
    EXPECT_EQ(on_trained[i]->token_id, trained[i]->token_id);
  }
  JobSpec fz = ft;
  fz.output_dir = dir_.Sub("fz");
  fz.freeze_base = true;
  RecordingObserver zobs(-1, true);
  ASSERT_TRUE(RunTrainingJob(fz, &zobs).ok());
  const auto zfresh = OfSplit(zobs, "valid/fresh_routers");
  const auto ztrunk = OfSplit(zobs, "valid/trained_trunk_fresh_routers");
  ASSERT_EQ(zfresh.size(), ztrunk.size());
  ASSERT_FALSE(zfresh.empty());
  for (size_t i = 0; i < zfresh.size(); ++i) {
    EXPECT_EQ(ztrunk[i]->pathways, zfresh[i]->pathways);
    EXPECT_EQ(ztrunk[i]->weights, zfresh[i]->weights);
  }
  // record.controls: false records the routing only.
  JobSpec nc = ft;
  nc.output_dir = dir_.Sub("nc");
  nc.record.controls = false;
  RecordingObserver nobs(-1, true);
  ASSERT_TRUE(RunTrainingJob(nc, &nobs).ok());
  EXPECT_TRUE(OfSplit(nobs, "valid/fresh_routers").empty());
  EXPECT_EQ(OfSplit(nobs, "valid").size(), trained.size());
}

TEST_F(TrainTest, FinetuneWithFrozenBaseTrainsOnlyRouters) {
  JobSpec pre = Tiny("pre");
  pre.optim.max_steps = 2;
  auto base = RunTrainingJob(pre, nullptr);
  ASSERT_TRUE(base.ok()) << base.status();
  JobSpec ft = Tiny("ft");
  ft.kind = "finetune";
  ft.model_dir = base->checkpoint_dir;
  ft.freeze_base = true;
  ft.optim.max_steps = 3;
  auto r = RunTrainingJob(ft, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  auto before = model::LoadGPTNeo(base->checkpoint_dir);
  ASSERT_TRUE(before.ok());
  model::GPTNeo after = LoadFinal(ft.output_dir);
  ASSERT_TRUE(after->routing().has_value());
  auto pb = (*before)->named_parameters(true);
  int routers = 0;
  for (const auto& p : after->named_parameters(true)) {
    const torch::Tensor* q = pb.find(p.key());
    if (q != nullptr) {
      EXPECT_TRUE(torch::equal(p.value(), *q)) << p.key() << " changed with freeze_base";
    } else {
      ++routers;  // router parameters exist only in the routed model
    }
  }
  EXPECT_GT(routers, 0);
}

TEST_F(TrainTest, MissingDataFileFailsBeforeTraining) {
  JobSpec s = Tiny("missing");
  s.data.train_path = dir_.Sub("nope.txt");
  auto r = RunTrainingJob(s, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("data.train_path"));
  EXPECT_THAT(r.status().message(), HasSubstr("nope.txt"));
  EXPECT_FALSE(fs::exists(fs::path(s.output_dir) / "metrics.jsonl"));
  EXPECT_TRUE(ListCheckpoints(s.output_dir).empty());
}

TEST_F(TrainTest, BadValueFailsBeforeTraining) {
  JobSpec s = Tiny("bad");
  s.optim.lr = -1;
  auto r = RunTrainingJob(s, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("optim.lr: must be > 0"));
  s.optim.lr = 1e-3;
  s.routing.enabled = true;
  s.routing.num_pathways = 7;  // 64 intermediate neurons are not divisible by 7
  r = RunTrainingJob(s, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("num_pathways"));
  EXPECT_FALSE(fs::exists(fs::path(s.output_dir) / "metrics.jsonl"));
}

TEST_F(TrainTest, CheckpointOfAnotherArchitectureFailsBeforeTraining) {
  JobSpec s = Tiny("arch");
  s.optim.max_steps = 1;
  ASSERT_TRUE(RunTrainingJob(s, nullptr).ok());
  std::string log_before = *ReadFile((fs::path(s.output_dir) / "metrics.jsonl").string());
  JobSpec other = s;
  other.model.hidden_size = 32;
  other.optim.max_steps = 3;
  RecordingObserver obs;
  auto r = RunTrainingJob(other, &obs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("another architecture"));
  EXPECT_THAT(r.status().message(), HasSubstr("hidden_size"));
  EXPECT_EQ(obs.start_step, -1);  // never started
  EXPECT_EQ(*ReadFile((fs::path(s.output_dir) / "metrics.jsonl").string()), log_before);

  // A finetune model_dir whose weights do not fit its config.json.
  TempDir bad;
  fs::copy(LatestCheckpoint(s.output_dir)->second, bad.Sub("m"));
  std::string cfg = *ReadFile(bad.Sub("m/config.json"));
  size_t p = cfg.find("\"hidden_size\": 16");
  ASSERT_NE(p, std::string::npos) << cfg;
  cfg.replace(p, 17, "\"hidden_size\": 32");
  testing::WriteText(bad.Sub("m/config.json"), cfg);
  JobSpec ft = Tiny("ft_bad");
  ft.kind = "finetune";
  ft.model_dir = bad.Sub("m");
  auto r2 = RunTrainingJob(ft, &obs);
  ASSERT_FALSE(r2.ok());
  EXPECT_THAT(r2.status().message(), HasSubstr("transformer."));  // names the tensor
  EXPECT_EQ(obs.start_step, -1);
}

TEST_F(TrainTest, CudaWithoutCudaIsAClearError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA is available here";
  JobSpec s = Tiny("cuda");
  s.device = "cuda:0";
  auto r = RunTrainingJob(s, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("CUDA is not available"));
}

}  // namespace
}  // namespace monoroute::engine
