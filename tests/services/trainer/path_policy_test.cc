// Tests of the allowed-roots confinement of spec paths.
#include "services/trainer/path_policy.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace monoroute::trainer {
namespace {

namespace fs = std::filesystem;

class PathPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "trainer_paths_XXXXXX").string();
    base_ = mkdtemp(tmpl.data());
    fs::create_directories(base_ + "/allowed/data");
    fs::create_directories(base_ + "/other");
  }
  void TearDown() override { fs::remove_all(base_); }
  std::string base_;
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

TEST_F(PathPolicyTest, NoRootsAllowsAnyAbsolutePath) {
  EXPECT_TRUE(CheckPathAllowed("output_dir", "/anywhere/at/all", {}).ok());
}

}  // namespace
}  // namespace monoroute::trainer
