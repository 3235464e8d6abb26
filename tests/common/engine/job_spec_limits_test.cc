// Tests of the job spec's hostile-input limits: size (RESOURCE_EXHAUSTED), YAML aliases (the
// "billion laughs" bomb is refused before anything expands), node count and depth, oversized
// strings named by field and never echoed whole, thread bounds, routed layers of a pretrain.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/engine/job_spec.h"

namespace monoroute::engine {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMinimal[] =
    "kind: pretrain\n"
    "data: {train_path: /data/train.txt}\n"
    "output_dir: /tmp/job\n";

// ~1 KB: 9 levels of 9 references each would expand to 9^9 (387 million) "lol"s.
std::string BillionLaughs() {
  std::string y = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 9; ++i) {
    std::string p = absl::StrCat("*a", i - 1);
    absl::StrAppend(&y, "a", i, ": &a", i, " [", p, ", ", p, ", ", p, ", ", p, ", ", p, ", ", p,
                    ", ", p, ", ", p, ", ", p, "]\n");
  }
  return y;
}

TEST(JobSpecLimitsTest, SpecLargerThanOneMibIsResourceExhausted) {
  std::string big = absl::StrCat(kMinimal, "name: \"", std::string(1100 * 1024, 'x'), "\"\n");
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(big);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.status().message(), HasSubstr("1048576"));
  // Overrides count towards the same limit.
  s = ParseJobSpecYaml(kMinimal, {"name=" + std::string(kMaxJobSpecBytes, 'y')});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(JobSpecLimitsTest, BillionLaughsIsRefusedBeforeExpanding) {
  const std::string bomb = BillionLaughs();
  ASSERT_LT(bomb.size(), 1200u);
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(bomb);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("aliases are not allowed in job specs"));
  // A single alias anywhere, also in an override value.
  s = ParseJobSpecYaml(absl::StrCat(kMinimal, "x: &a 1\nseed: *a\n"));
  EXPECT_THAT(s.status().message(), HasSubstr("aliases are not allowed"));
  s = ParseJobSpecYaml(kMinimal, {"optim.betas=[&b 0.9, *b]"});
  EXPECT_THAT(s.status().message(), HasSubstr("aliases are not allowed"));
}

TEST(JobSpecLimitsTest, NodeCountAndDepthAreBounded) {
  std::string many = absl::StrCat(kMinimal, "routing: {layers: [");
  for (size_t i = 0; i <= kMaxJobSpecNodes; ++i) absl::StrAppend(&many, i == 0 ? "" : ",", "0");
  absl::StrAppend(&many, "]}\n");
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(many);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("YAML nodes"));

  std::string deep = absl::StrCat(kMinimal, "x: ", std::string(100, '['), std::string(100, ']'));
  s = ParseJobSpecYaml(deep);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("nested deeper"));
}

TEST(JobSpecLimitsTest, OversizedStringsNameTheFieldAndAreCut) {
  const std::string long_name(300, 'n');
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(kMinimal, {"name=" + long_name});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("name: 300 bytes, more than the limit of 256"));
  EXPECT_THAT(std::string(s.status().message()), Not(HasSubstr(long_name)));

  const std::string long_path = "/" + std::string(5000, 'p');
  s = ParseJobSpecYaml(kMinimal, {"data.train_path=" + long_path});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("data.train_path: 5001 bytes"));
  EXPECT_LT(s.status().message().size(), 300u);

  s = ParseJobSpecYaml(kMinimal, {"device=" + std::string(10000, 'd')});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("device: 10000 bytes"));
  EXPECT_LT(s.status().message().size(), 300u);

  // A huge unknown key or bad value is cut in the message too.
  s = ParseJobSpecYaml(absl::StrCat(kMinimal, "? ", std::string(100000, 'k'), "\n: 1\n"));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("unknown key"));
  EXPECT_LT(s.status().message().size(), 300u);
  s = ParseJobSpecYaml(kMinimal, {"optim.lr=" + std::string(100000, '9') + "x"});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("optim.lr: expected a finite number"));
  EXPECT_LT(s.status().message().size(), 300u);
}

TEST(JobSpecLimitsTest, StringsMustBeUtf8) {
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(absl::StrCat(kMinimal,
                                                            "name: \"caf\xc3\xa9 "
                                                            "\xe6\x97\xa5 "
                                                            "\xf0\x9f\x98\x80\"\n"));
  EXPECT_TRUE(s.ok()) << s.status();
  for (const char* bad : {"\xff", "\xc3", "\xe6\x97", "\xc0\xaf", "\xed\xa0\x80"}) {
    s = ParseJobSpecYaml(absl::StrCat(kMinimal, "name: \"x", bad, "y\"\n"));
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_THAT(s.status().message(), HasSubstr("name: not valid UTF-8"));
  }
}

TEST(JobSpecLimitsTest, ThreadsAreBounded) {
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(kMinimal, {"threads=1000000"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("threads: must be <= 4096"));
  s = ParseJobSpecYaml(kMinimal, {"data.tokenize_threads=1000000"});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("data.tokenize_threads: must be <= 4096"));
  EXPECT_TRUE(ParseJobSpecYaml(kMinimal, {"threads=8", "data.tokenize_threads=8"}).ok());
}

TEST(JobSpecLimitsTest, PretrainRoutedLayersAndSeqLenAreCheckedAgainstTheModel) {
  absl::StatusOr<JobSpec> s =
      ParseJobSpecYaml(kMinimal, {"routing.enabled=true", "routing.layers=[100]"});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("routing.layers[0]: 100 is not a layer of the model (model.num_layers 8)"));
  s = ParseJobSpecYaml(kMinimal, {"data.seq_len=1000000000"});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("data.seq_len"));
  EXPECT_THAT(s.status().message(), HasSubstr("max_position_embeddings 2048"));
}

TEST(JobSpecLimitsTest, MemoryLimitRoundTrips) {
  absl::StatusOr<JobSpec> s = ParseJobSpecYaml(kMinimal, {"memory_limit_mb=512"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->memory_limit_mb, 512);
  absl::StatusOr<JobSpec> t = ParseJobSpecYaml(JobSpecToYaml(*s));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->memory_limit_mb, 512);
  EXPECT_FALSE(ParseJobSpecYaml(kMinimal, {"memory_limit_mb=-1"}).ok());
}

}  // namespace
}  // namespace monoroute::engine
