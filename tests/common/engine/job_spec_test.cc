// Tests of the job spec parser: defaults, unknown keys and bad values named by path, overrides,
// round trip, path checks.
#include "common/engine/job_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/engine/sha256.h"
#include "tests/common/engine/test_util.h"
#include "tests/testing/status_matchers.h"

namespace monoroute::engine {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A parse refused with INVALID_ARGUMENT, the message containing `what` (the field's path).
::testing::Matcher<absl::StatusOr<JobSpec>> Refused(const std::string& what) {
  return ::monoroute::testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(what));
}

constexpr char kMinimal[] = R"(
kind: finetune
model_dir: /models/base
data:
  train_path: /data/train.txt
output_dir: /tmp/job
)";

TEST(JobSpecTest, MinimalSpecGetsDefaults) {
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(kMinimal);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->kind, "finetune");
  EXPECT_TRUE(IsRouted(*s));
  EXPECT_EQ(s->routing.num_pathways, 16);
  EXPECT_EQ(s->routing.top_k, 4);
  EXPECT_EQ(s->routing.router_hidden, 128);
  EXPECT_EQ(s->routing.balancing.method, model::BalancingMethod::kGlbl);
  EXPECT_DOUBLE_EQ(s->routing.balancing.alpha, 0.1);
  EXPECT_EQ(s->data.seq_len, 128);
  EXPECT_EQ(s->device, "cpu");
}

TEST(JobSpecTest, PretrainIsDenseUnlessRoutingEnabled) {
  absl::StatusOr<JobSpec> s =
      ParseJobSpecYaml("kind: pretrain\ndata: {train_path: a.txt}\noutput_dir: o\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(IsRouted(*s));
  s = ParseJobSpecYaml("kind: pretrain\ndata: {train_path: a.txt}\noutput_dir: o\n",
                       {"routing.enabled=true"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(IsRouted(*s));
}

TEST(JobSpecTest, UnknownKeyNamesItsPath) {
  EXPECT_THAT(ParseJobSpecYaml(std::string(kMinimal) + "optim:\n  learning_rate: 0.1\n"),
              Refused("optim.learning_rate: unknown key"));

  EXPECT_THAT(ParseJobSpecYaml(std::string(kMinimal) + "routing:\n  balancing:\n    beta: 1\n"),
              Refused("routing.balancing.beta: unknown key"));

  EXPECT_THAT(ParseJobSpecYaml(std::string(kMinimal) + "epochs: 3\n"),
              Refused("epochs: unknown key"));
}

TEST(JobSpecTest, BadValuesNameTheirPath) {
  struct Case {
    std::string set;
    std::string message;
  } cases[] = {
      {"optim.lr=-1", "optim.lr: must be > 0"},
      {"optim.lr=fast", "optim.lr: expected a finite number, got 'fast'"},
      {"optim.batch_size=2.5", "optim.batch_size: expected an integer"},
      {"optim.betas=[0.9]", "optim.betas: expected [beta1, beta2]"},
      {"optim.betas=[0.9, 1.5]", "optim.betas[1]: must be in [0, 1)"},
      {"routing.top_k=17", "routing.top_k: must be in [1, routing.num_pathways]"},
      {"routing.balancing.method=magic", "routing.balancing.method: must be"},
      {"routing.balancing.ema_momentum=1", "routing.balancing.ema_momentum"},
      {"routing.layers=[0, x]", "routing.layers[1]: expected an integer"},
      {"data.format=csv", "data.format: must be"},
      {"data.valid_fraction=1.5", "data.valid_fraction: must be in [0, 1)"},
      {"data.seed=-3", "data.seed: expected an integer >= 0"},
      {"device=gpu", "device: must be 'cpu', 'cuda' or 'cuda:N', got 'gpu'"},
      {"freeze_base=maybe", "freeze_base: expected true or false"},
      {"optim=3", "optim: expected a map"},
      {"kind=distill", "kind: must be 'pretrain' or 'finetune'"},
      {"distributed.nproc_per_node=0", "distributed.nproc_per_node: must be in [1, 4096]"},
      {"distributed.timeout_s=0", "distributed.timeout_s: must be >= 1"},
      {"distributed.nodes=2", "distributed.nodes: unknown key"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseJobSpecYaml(kMinimal, {c.set}), Refused(c.message)) << c.set;
  }
  // The same through YAML text.
  EXPECT_THAT(
      ParseJobSpecYaml("kind: pretrain\ndata: {train_path: a}\noutput_dir: o\noptim:\n  lr: 0\n"),
      Refused("optim.lr: must be > 0"));
  EXPECT_THAT(ParseJobSpecYaml(std::string(kMinimal) + "kind: pretrain\n"),
              Refused("kind: duplicate key"));
}

TEST(JobSpecTest, MissingRequiredFields) {
  EXPECT_THAT(ParseJobSpecYaml("kind: finetune\ndata: {train_path: a}\noutput_dir: o\n"),
              Refused("model_dir: required"));
  EXPECT_THAT(ParseJobSpecYaml("kind: pretrain\noutput_dir: o\n"),
              Refused("data.train_path: required"));
}

TEST(JobSpecTest, InvalidYamlIsAnError) {
  EXPECT_THAT(ParseJobSpecYaml("kind: [unclosed\n"), Refused("invalid YAML"));
}

TEST(JobSpecTest, OverridesApplyAndAreChecked) {
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(
      kMinimal, {"optim.lr=0.05", "optim.betas=[0.8, 0.95]", "routing.balancing.alpha=0",
                 "routing.layers=[1, 3]", "record.sample_rate=0.5", "name=my job"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_DOUBLE_EQ(s->optim.lr, 0.05);
  EXPECT_DOUBLE_EQ(s->optim.beta1, 0.8);
  EXPECT_DOUBLE_EQ(s->optim.beta2, 0.95);
  EXPECT_DOUBLE_EQ(s->routing.balancing.alpha, 0.0);
  EXPECT_EQ(s->routing.layers, (std::vector<int64_t>{1, 3}));
  EXPECT_DOUBLE_EQ(s->record.sample_rate, 0.5);
  EXPECT_EQ(s->name, "my job");

  EXPECT_THAT(ParseJobSpecYaml(kMinimal, {"optim.lrate=1"}), Refused("optim.lrate: unknown key"));
  EXPECT_THAT(ParseJobSpecYaml(kMinimal, {"optim.lr=0"}), Refused("optim.lr: must be > 0"));
  EXPECT_THAT(ParseJobSpecYaml(kMinimal, {"optim.lr"}), Refused("expected key.path=value"));
  EXPECT_THAT(ParseJobSpecYaml(kMinimal, {"kind.x=1"}), Refused("kind: is not a map"));
}

TEST(JobSpecTest, RoundTripsThroughYaml) {
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(
      kMinimal, {"optim.lr=0.0012345678901234567", "routing.enabled=false", "routing.layers=[0, 4]",
                 "model.attention_layers=[global, local]", "model.num_layers=2",
                 "data.seed=18446744073709551615", "routing.temperature=0.7", "precision=bf16",
                 "distributed.nproc_per_node=4", "distributed.timeout_s=45"});
  ASSERT_TRUE(s.ok()) << s.status();
  s->name = "a: \"b\" # not a comment";
  std::string yaml = JobSpecToYaml(*s);
  absl::StatusOr<JobSpec> t = ParseJobSpecYaml(yaml);
  ASSERT_TRUE(t.ok()) << t.status() << "\n" << yaml;
  EXPECT_EQ(JobSpecToYaml(*t), yaml);
  EXPECT_EQ(t->optim.lr, s->optim.lr);  // bit-exact doubles
  EXPECT_EQ(t->routing.enabled, std::optional<bool>(false));
  EXPECT_EQ(t->data.seed, 18446744073709551615ULL);
  EXPECT_EQ(t->name, "a: \"b\" # not a comment");
  EXPECT_EQ(t->model.attention_layers, (std::vector<std::string>{"global", "local"}));
  EXPECT_EQ(t->routing.layers, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(t->precision, "bf16");
  EXPECT_EQ(t->distributed.nproc_per_node, 4);
  EXPECT_EQ(t->distributed.timeout_s, 45);
}

// The text is hashed into the ranks' job fingerprint (train.cc) and stored as job.yaml: its layout
// (key order, number and string forms, omitted empty lists and unset routing.enabled) is fixed.
TEST(JobSpecTest, YamlLayoutIsStable) {
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(R"(
name: "gold en"
kind: pretrain
output_dir: /tmp/job
data:
  train_path: /data/train.txt
  seed: 18446744073709551615
  valid_fraction: 0.1
optim:
  betas: [0.8, 0.95]
  lr: 0.0012345678901234567
routing:
  enabled: true
  layers: [0, 1]
record:
  sample_rate: 0.25
)");
  ASSERT_TRUE(s.ok()) << s.status();
  // Sha256Hex of the text as it was before the field list (job_spec_fields.h) wrote it.
  const std::string yaml = JobSpecToYaml(*s);
  EXPECT_EQ(Sha256Hex(yaml), "bc8583b3eb9ea272b678683491dfe153a87acd4beaa2589530e095e950821d4c")
      << yaml;
  EXPECT_THAT(yaml,
              HasSubstr("\nmodel_dir: \"\"\nmodel:\n  config_path: \"\"\n  model_type: gpt_neo\n"));
  EXPECT_THAT(yaml, HasSubstr("\nrouting:\n  enabled: true\n  num_pathways: 16\n"));
  EXPECT_THAT(yaml, HasSubstr("\n  seed: 18446744073709551615\n"));
  EXPECT_THAT(yaml, HasSubstr("\n  betas: [0.8, 0.95]\n  eps: 1e-08\n"));
  EXPECT_THAT(yaml, HasSubstr("\nseed: 0\nrecord:\n  sample_rate: 0.25\n"));
  EXPECT_THAT(yaml, HasSubstr("\nresume: auto\neval:\n  max_sequences: 0\ndistributed:\n"));
  s->routing.enabled.reset();
  s->routing.layers.clear();
  const std::string plain = JobSpecToYaml(*s);
  EXPECT_THAT(plain, HasSubstr("\nrouting:\n  num_pathways: 16\n"));
  EXPECT_THAT(plain, Not(HasSubstr("\n  layers:")));
}

TEST(JobSpecTest, ValidatePathsNamesMissingFiles) {
  testing::TempDir dir;
  JobSpec spec = testing::TinyJob(dir.Sub("missing.txt"), dir.Sub("out"));
  absl::Status st = ValidateJobSpecPaths(spec);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(st.message(), HasSubstr("data.train_path"));
  EXPECT_THAT(st.message(), HasSubstr("missing.txt"));

  testing::WriteText(dir.Sub("train.txt"), "hello\n");
  spec.data.train_path = dir.Sub("train.txt");
  EXPECT_TRUE(ValidateJobSpecPaths(spec).ok());
  spec.kind = "finetune";
  spec.model_dir = dir.Sub("nomodel");
  st = ValidateJobSpecPaths(spec);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(st.message(), HasSubstr("model_dir"));
  spec.kind = "pretrain";
  spec.data.tokenizer_dir = dir.Sub("notok");
  st = ValidateJobSpecPaths(spec);
  EXPECT_THAT(st.message(), HasSubstr("data.tokenizer_dir"));
}

}  // namespace
}  // namespace monoroute::engine
