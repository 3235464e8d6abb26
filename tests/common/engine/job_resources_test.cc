// Tests of the job resource checks: model shape from the spec or config.json, seq_len and routed
// layers against the model, the memory estimate (magnitudes, monotonic in batch / grad_accum, no
// overflow for absurd values) and the RESOURCE_EXHAUSTED message naming the fields to lower.
#include "common/engine/job_resources.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
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
