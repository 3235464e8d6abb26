// Tests of the job resource checks: model shape from the spec or config.json, seq_len and routed
// layers against the model, the memory estimate (magnitudes, monotonic in batch / grad_accum, no
// overflow for absurd values) and the RESOURCE_EXHAUSTED message naming the fields to lower; per
// family, HF's Pythia-70M, Pythia-160M and GPT-2 small configs: exact parameter counts, exact
// router parameters, estimates against peaks measured on this machine, refusal above a limit.
#include "common/engine/job_resources.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "tests/common/engine/test_util.h"

namespace monoroute::engine {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr char kPretrain[] =
    "kind: pretrain\n"
    "data: {train_path: /data/train.txt, seq_len: 128}\n"
    "optim: {batch_size: 16}\n"
    "output_dir: /tmp/job\n";

JobSpec Spec(const std::vector<std::string>& sets = {}) {
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(kPretrain, sets);
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

TEST(JobResourcesTest, PretrainShapeComesFromTheSpec) {
  absl::StatusOr<JobModelShape> shape = ResolveJobModelShape(Spec());
  ASSERT_TRUE(shape.ok()) << shape.status();
  EXPECT_EQ(shape->vocab_size, 50257);
  EXPECT_EQ(shape->hidden_size, 64);
  EXPECT_EQ(shape->num_layers, 8);
  EXPECT_EQ(shape->intermediate_size, 256);
  EXPECT_EQ(shape->source, "model");
}

TEST(JobResourcesTest, FinetuneShapeComesFromConfigJsonAndIsChecked) {
  testing::TempDir dir;
  fs::create_directories(dir.path() + "/m");
  std::ofstream(dir.path() + "/m/config.json")
      << R"({"model_type": "gpt_neo", "vocab_size": 1000, "hidden_size": 32, "num_layers": 4,
             "num_heads": 4, "intermediate_size": null, "max_position_embeddings": 64})";
  absl::StatusOr<JobSpec> s =
      ParseJobSpecYaml(absl::StrCat("kind: finetune\nmodel_dir: ", dir.path(), "/m\n",
                                    "data: {train_path: /d.txt, seq_len: 64}\noutput_dir: /o\n"));
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<JobModelShape> shape = ResolveJobModelShape(*s);
  ASSERT_TRUE(shape.ok()) << shape.status();
  EXPECT_EQ(shape->num_layers, 4);
  EXPECT_EQ(shape->intermediate_size, 128);
  EXPECT_TRUE(ValidateJobSpecForModel(*s, *shape).ok());

  s->data.seq_len = 1000000000;
  absl::Status st = ValidateJobSpecForModel(*s, *shape);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("data.seq_len: 1000000000 exceeds the model's "
                                      "max_position_embeddings 64"));
  s->data.seq_len = 64;
  s->routing.layers = {0, 100};
  st = ValidateJobSpecForModel(*s, *shape);
  EXPECT_THAT(st.message(), HasSubstr("routing.layers[1]: 100 is not a layer of the model (4"));

  // A missing or oversized config.json is an error naming the field.
  s->model_dir = dir.path() + "/missing";
  EXPECT_THAT(ResolveJobModelShape(*s).status().message(), HasSubstr("model_dir"));
  fs::create_directories(dir.path() + "/big");
  std::ofstream(dir.path() + "/big/config.json") << std::string(2 << 20, ' ') << "{}";
  s->model_dir = dir.path() + "/big";
  EXPECT_THAT(ResolveJobModelShape(*s).status().message(), HasSubstr("more than"));
}

TEST(JobResourcesTest, EstimateOfTheDefaultArchitectureIsInTheMeasuredRange) {
  // TinyStories-1M architecture, batch 16 x 128, 2 threads: measured peak VmData 610 MiB
  // (monoroute train, 2026-12).
  JobSpec s = Spec();
  JobResourceOptions o;
  o.threads = 2;
  JobResourceEstimate e = EstimateJobResources(s, *ResolveJobModelShape(s), o);
  EXPECT_GT(e.parameters, 3600000);
  EXPECT_LT(e.parameters, 3900000);
  EXPECT_GT(e.host_bytes, 610.0 * (1 << 20));
  EXPECT_LT(e.host_bytes, 1.5 * 1024 * (1 << 20));
  EXPECT_EQ(e.device_bytes, 0);
  EXPECT_THAT(e.Summary(), HasSubstr("activations"));
}

TEST(JobResourcesTest, EstimateGrowsWithBatchAndAccumWithoutOverflow) {
  JobSpec s = Spec();
  JobModelShape shape = *ResolveJobModelShape(s);
  const double base = EstimateJobResources(s, shape, {}).host_bytes;
  s.optim.batch_size = 32;
  EXPECT_GT(EstimateJobResources(s, shape, {}).host_bytes, base);
  s.optim.batch_size = 1000000000;
  JobResourceEstimate huge = EstimateJobResources(s, shape, {});
  EXPECT_GT(huge.host_bytes, 1e15);
  absl::Status st = CheckJobMemory(huge, int64_t{16} << 30, "--job-memory-limit-mb 16384");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(st.message(), HasSubstr("job needs an estimated"));
  EXPECT_THAT(st.message(), HasSubstr("more than the job memory limit of 16.0 GiB"));
  EXPECT_THAT(st.message(), HasSubstr("optim.batch_size"));

  s.optim.batch_size = 16;
  s.optim.grad_accum = 1000000000;
  JobResourceEstimate accum = EstimateJobResources(s, shape, {});
  st = CheckJobMemory(accum, int64_t{16} << 30, "limit");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(st.message(), HasSubstr("optim.grad_accum"));
  EXPECT_TRUE(CheckJobMemory(EstimateJobResources(Spec(), shape, {}), int64_t{16} << 30, "l").ok());
}

// HF's config.json of a Pythia model (EleutherAI/pythia-*, padded vocabulary 50304, untied
// embed_out, parallel residual, rotary_pct 0.25, intermediate 4 x hidden) as published; the sizes
// are the only fields that differ between Pythia-70M and Pythia-160M.
std::string PythiaConfig(int hidden, int heads, int layers) {
  return absl::Substitute(
      R"({"architectures": ["GPTNeoXForCausalLM"], "bos_token_id": 0, "eos_token_id": 0,
        "hidden_act": "gelu", "hidden_size": $0, "initializer_range": 0.02,
        "intermediate_size": $1, "layer_norm_eps": 1e-05, "max_position_embeddings": 2048,
        "model_type": "gpt_neox", "num_attention_heads": $2, "num_hidden_layers": $3,
        "rotary_emb_base": 10000, "rotary_pct": 0.25, "tie_word_embeddings": false,
        "torch_dtype": "float16", "use_cache": true, "use_parallel_residual": true,
        "vocab_size": 50304})",
      hidden, 4 * hidden, heads, layers);
}

// GPT-2 small's config.json (openai-community/gpt2: tied wte, learned positions, n_inner null =
// 4 x n_embd), as published.
constexpr char kGpt2Small[] =
    R"({"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1, "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256,
        "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "gpt2",
        "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024,
        "resid_pdrop": 0.1, "vocab_size": 50257})";

// One published model: its config, its exact parameter count (the arithmetic below), and the
// peak resident memory measured for the shapes of FamilyJob's routed job, run as a pretrain from
// this config (`/usr/bin/time -v monoroute train`, model.config_path = this config, routed P = 16,
// k = 4, router_hidden 64, batch 4 x 128, 2 steps, threads 2, with the final checkpoint;
// 2026-12-07 on the shared 2-vCPU machine: 2.53, 5.53 and 4.41 GiB).
struct Published {
  const char* name;
  std::string config;
  int64_t parameters;
  double measured_peak_mib;
};

// Pythia-70M: embed_in + embed_out 2 x 50304 x 512 = 51,511,296; per layer 2 LayerNorms 2,048,
// query_key_value 786,432 + 1,536, dense 262,144 + 512, dense_h_to_4h 1,048,576 + 2,048,
// dense_4h_to_h 1,048,576 + 512 = 3,152,384, x 6 = 18,914,304; final LayerNorm 1,024.
// Pythia-160M: 2 x 50304 x 768 = 77,266,944; 7,087,872 per layer x 12 = 85,054,464; 1,536.
// GPT-2 small: wte 50257 x 768 = 38,597,376 (tied), wpe 1024 x 768 = 786,432; the same
// 7,087,872 per layer x 12 (c_attn, c_proj, c_fc, c_proj with biases); ln_f 1,536.
const Published kPublished[] = {
    {"pythia-70m", PythiaConfig(512, 8, 6), 70426624, 2587.0},
    {"pythia-160m", PythiaConfig(768, 12, 12), 162322944, 5663.0},
    {"gpt2", kGpt2Small, 124439808, 4517.0},
};

// A finetune job of `config` (routed or dense).
JobSpec FamilyJob(const testing::TempDir& dir, const Published& m, bool routed) {
  fs::create_directories(dir.Sub(m.name));
  std::ofstream(dir.Sub(m.name) + "/config.json") << m.config;
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(
      absl::StrCat("kind: finetune\nmodel_dir: ", dir.Sub(m.name), "\nrouting: {enabled: ",
                   routed ? "true" : "false", ", num_pathways: 16, top_k: 4, router_hidden: 64}\n",
                   "data: {train_path: /d.txt, seq_len: 128}\noptim: {batch_size: 4}\nthreads: 2\n"
                   "output_dir: /o\n"));
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

TEST(JobResourcesTest, PublishedModelsHaveTheirExactParameterCounts) {
  testing::TempDir dir;
  for (const Published& m : kPublished) {
    const JobSpec dense = FamilyJob(dir, m, false);
    absl::StatusOr<JobModelShape> shape = ResolveJobModelShape(dense);
    ASSERT_TRUE(shape.ok()) << m.name << ": " << shape.status();
    EXPECT_TRUE(ValidateJobSpecForModel(dense, *shape).ok()) << m.name;
    EXPECT_EQ(EstimateJobResources(dense, *shape, {}).parameters, m.parameters) << m.name;
    // Routed: every second layer by default, each router hidden -> 64 -> 16 with biases.
    const JobSpec routed = FamilyJob(dir, m, true);
    const int64_t H = shape->hidden_size;
    const int64_t routers = (shape->num_layers + 1) / 2 * (H * 64 + 64 + 64 * 16 + 16);
    const JobResourceEstimate e = EstimateJobResources(routed, *shape, {});
    EXPECT_EQ(e.parameters, m.parameters + routers) << m.name;
    EXPECT_EQ(e.trainable_parameters, e.parameters) << m.name;
    JobSpec frozen = routed;
    frozen.freeze_base = true;
    EXPECT_EQ(EstimateJobResources(frozen, *shape, {}).trainable_parameters, routers) << m.name;
  }
}

TEST(JobResourcesTest, PublishedModelEstimatesAreAboveAndNearTheirMeasuredPeaks) {
  testing::TempDir dir;
  for (const Published& m : kPublished) {
    const JobSpec s = FamilyJob(dir, m, true);
    JobResourceOptions o;
    o.threads = 2;
    const JobResourceEstimate e = EstimateJobResources(s, *ResolveJobModelShape(s), o);
    const double mib = e.host_bytes / (1 << 20);
    // Conservative, within 35% of the measured peak.
    EXPECT_GT(mib, m.measured_peak_mib) << m.name << ": " << e.Summary();
    EXPECT_LT(mib, 1.35 * m.measured_peak_mib) << m.name << ": " << e.Summary();
    // Never below what the weights, gradients and AdamW moments alone take (16 B / parameter).
    EXPECT_GT(e.host_bytes, 16.0 * static_cast<double>(e.parameters)) << m.name;
  }
}

TEST(JobResourcesTest, PublishedModelAboveTheLimitIsRefusedNamingWhatToLower) {
  testing::TempDir dir;
  const JobSpec s = FamilyJob(dir, kPublished[1], true);  // Pythia-160M
  const JobResourceEstimate e = EstimateJobResources(s, *ResolveJobModelShape(s), {});
  const absl::Status st = CheckJobMemory(e, int64_t{2048} << 20, "--job-memory-limit-mb 2048");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(st.message(), HasSubstr("job needs an estimated "));
  EXPECT_THAT(st.message(), HasSubstr("162624480 parameters"));  // with the 6 routers
  EXPECT_THAT(st.message(), HasSubstr("(--job-memory-limit-mb 2048)"));
  // The model's state dominates: what a finetune can lower.
  EXPECT_THAT(st.message(), HasSubstr("lower freeze_base (train the routers only), model_dir"));
  JobSpec frozen = s;
  frozen.freeze_base = true;
  const absl::Status fs_st = CheckJobMemory(
      EstimateJobResources(frozen, *ResolveJobModelShape(frozen), {}), int64_t{1024} << 20, "l");
  EXPECT_EQ(fs_st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(fs_st.message(), HasSubstr("lower model_dir (a smaller model)"));
}

TEST(JobResourcesTest, ThreadsResolveToTheCap) {
  EXPECT_EQ(ResolveJobThreads(3, 1), 3);
  EXPECT_EQ(ResolveJobThreads(0, 1), 1);
  EXPECT_GE(ResolveJobThreads(0, 0), 1);
  EXPECT_GT(MachineMemoryBytes(), 0);
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1.5 * (1 << 30)), "1.5 GiB");
}

}  // namespace
}  // namespace monoroute::engine
