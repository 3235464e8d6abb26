// Tests of the allowed-roots confinement of request paths (trainer specs, analysis Ablate).
#include "common/base/path_policy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "tests/testing/temp_files.h"

namespace monoroute {
namespace {

namespace fs = std::filesystem;

class PathPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(base_ + "/allowed/data");
    fs::create_directories(base_ + "/other");
  }
  ::monoroute::testing::TempDir tmp_{"trainer_paths"};
  std::string base_ = tmp_.path();
};

TEST_F(PathPolicyTest, AcceptsPathsInsideARoot) {
  std::vector<std::string> roots = {base_ + "/allowed"};
  EXPECT_TRUE(CheckPathAllowed("data.train_path", base_ + "/allowed/data/x.txt", roots).ok());
  EXPECT_TRUE(CheckPathAllowed("output_dir", base_ + "/allowed", roots).ok());
  EXPECT_TRUE(CheckPathAllowed("output_dir", base_ + "/allowed/new/deep/dir", roots).ok());
}

TEST_F(PathPolicyTest, RejectsOutsideDotDotAndSiblingPrefix) {
  std::vector<std::string> roots = {base_ + "/allowed"};
  for (const std::string& p : {base_ + "/other/x.txt", base_ + "/allowed/../other/x.txt",
                               base_ + "/allowed2/x", std::string("/etc/passwd")}) {
    absl::Status s = CheckPathAllowed("data.train_path", p, roots);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << p;
    EXPECT_NE(s.message().find("data.train_path"), std::string::npos) << s;
  }
}

TEST_F(PathPolicyTest, RejectsSymlinkEscape) {
  fs::create_directory_symlink(base_ + "/other", base_ + "/allowed/link");
  absl::Status s = CheckPathAllowed("model_dir", base_ + "/allowed/link/x", {base_ + "/allowed"});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
}

TEST_F(PathPolicyTest, RelativeAndEmptyAreInvalid) {
  absl::Status s = CheckPathAllowed("data.valid_path", "data/x.txt", {base_});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("data.valid_path"), std::string::npos);
  EXPECT_EQ(CheckPathAllowed("output_dir", "", {}).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PathPolicyTest, DenialDoesNotDependOnExistence) {
  // An existing and a missing file outside the roots get the same code and the same message up
  // to the quoted path (nothing about the file system is revealed).
  const std::string existing = base_ + "/other/present.txt";
  const std::string missing = base_ + "/other/absent.txt";
  {
    std::FILE* f = std::fopen(existing.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  absl::Status a = CheckPathAllowed("text_file", existing, {base_ + "/allowed"});
  absl::Status b = CheckPathAllowed("text_file", missing, {base_ + "/allowed"});
  ASSERT_EQ(a.code(), absl::StatusCode::kPermissionDenied);
  ASSERT_EQ(b.code(), absl::StatusCode::kPermissionDenied);
  std::string ma(a.message()), mb(b.message());
  ma.replace(ma.find(existing), existing.size(), "P");
  mb.replace(mb.find(missing), missing.size(), "P");
  EXPECT_EQ(ma, mb);
}

TEST_F(PathPolicyTest, LongPathsAreQuotedBounded) {
  const std::string p = "/" + std::string(100000, 'p');
  absl::Status s = CheckPathAllowed("checkpoint", p, {base_ + "/allowed"});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_LT(s.message().size(), 600u) << s.message().substr(0, 300);
  EXPECT_NE(s.message().find("(100001 bytes)"), std::string::npos);
}

TEST_F(PathPolicyTest, NoRootsAllowsAnyAbsolutePath) {
  EXPECT_TRUE(CheckPathAllowed("output_dir", "/anywhere/at/all", {}).ok());
}

}  // namespace
}  // namespace monoroute
