// Tests of the shared bearer-token check: strict "Bearer <token>" parsing (missing, malformed,
// lowercase, trailing space, empty, repeated, wrong all refused), reads checked only with
// auth_reads, constant-time comparison results, token files, and messages that never echo what
// the caller sent or the configured token.
#include "common/service/auth.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/common/service/service_test_util.h"

namespace monoroute {
namespace {

constexpr char kToken[] = "s3cret-T0ken_value";

TEST(ParseBearerTest, AcceptsExactlyBearerSpaceToken) {
  auto t = ParseBearer("Bearer abc.DEF-123_~+/=");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, "abc.DEF-123_~+/=");
}

TEST(ParseBearerTest, RefusesEverythingElse) {
  for (const std::string& v : std::vector<std::string>{
           "abc", "bearer abc", "BEARER abc", "Bearer", "Bearer ", "Bearer  abc", "Bearer abc ",
           " Bearer abc", "Bearer a b", "Bearer abc\t", "Basic abc", "Bearer\tabc",
           std::string("Bearer ab\0c", 11), "Bearer abc\x7f"}) {
    auto t = ParseBearer(v);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kUnauthenticated) << "'" << v << "'";
  }
}

TEST(TokensEqualTest, ComparesWholeTokens) {
  EXPECT_TRUE(TokensEqual("abc", "abc"));
  EXPECT_TRUE(TokensEqual("", ""));
  EXPECT_FALSE(TokensEqual("abc", "abd"));
  EXPECT_FALSE(TokensEqual("abc", "abcd"));
  EXPECT_FALSE(TokensEqual("abc", ""));
  EXPECT_FALSE(TokensEqual(std::string(1000, 'a'), std::string(999, 'a') + "b"));
}

class BearerAuthTest : public ::testing::Test {
 protected:
  BearerAuth auth_{AuthOptions{kToken, false}};
  BearerAuth auth_reads_{AuthOptions{kToken, true}};
};

TEST_F(BearerAuthTest, WritesNeedTheExactHeader) {
  const std::string right = std::string("Bearer ") + kToken;
  EXPECT_TRUE(auth_.CheckValues({right}, RpcAccess::kWrite).ok());
  struct Case {
    const char* what;
    std::vector<std::string> values;
  };
  const std::vector<Case> cases = {
      {"missing", {}},
      {"no scheme", {kToken}},
      {"lowercase scheme", {std::string("bearer ") + kToken}},
      {"trailing space", {right + " "}},
      {"two spaces", {std::string("Bearer  ") + kToken}},
      {"empty token", {"Bearer "}},
      {"wrong token", {"Bearer wrong-token"}},
      {"token prefix", {std::string("Bearer ") + std::string(kToken).substr(0, 5)}},
      {"repeated header", {right, right}},
  };
  for (const Case& c : cases) {
    std::vector<absl::string_view> views(c.values.begin(), c.values.end());
    absl::Status s = auth_.CheckValues(views, RpcAccess::kWrite);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << c.what;
    EXPECT_EQ(s.message().find(kToken), absl::string_view::npos) << c.what << ": " << s;
    EXPECT_EQ(s.message().find("wrong-token"), absl::string_view::npos) << c.what << ": " << s;
    EXPECT_EQ(s.message().find("s3cre"), absl::string_view::npos) << c.what << ": " << s;
  }
}

TEST_F(BearerAuthTest, ReadsAreCheckedOnlyWithAuthReads) {
  EXPECT_TRUE(auth_.CheckValues({}, RpcAccess::kRead).ok());
  EXPECT_TRUE(auth_.CheckValues({"garbage"}, RpcAccess::kRead).ok());
  EXPECT_EQ(auth_reads_.CheckValues({}, RpcAccess::kRead).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_reads_.CheckValues({"bearer x"}, RpcAccess::kRead).code(),
            absl::StatusCode::kUnauthenticated);
  const std::string right = std::string("Bearer ") + kToken;
  EXPECT_TRUE(auth_reads_.CheckValues({right}, RpcAccess::kRead).ok());
  EXPECT_TRUE(auth_reads_.CheckValues({right}, RpcAccess::kWrite).ok());
}

TEST_F(BearerAuthTest, NoTokenChecksNothing) {
  BearerAuth off;
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.CheckValues({}, RpcAccess::kWrite).ok());
  EXPECT_TRUE(off.CheckValues({"bearer nonsense "}, RpcAccess::kWrite).ok());
  EXPECT_EQ(off.Describe(), "no auth");
  EXPECT_EQ(auth_.Describe(), "auth on writes");
  EXPECT_EQ(auth_reads_.Describe(), "auth on every RPC");
}

TEST(ReadTokenFileTest, StripsWhitespaceAndNamesFlagAndFileOnError) {
  testing::TempDir dir;
  testing::WriteText(dir.Sub("ok"), std::string("  ") + kToken + "\n");
  auto t = ReadTokenFile("--auth-token-file", dir.Sub("ok"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, kToken);

  auto missing = ReadTokenFile("--auth-token-file", dir.Sub("absent"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("--auth-token-file"), absl::string_view::npos);
  EXPECT_NE(missing.status().message().find(dir.Sub("absent")), absl::string_view::npos);

  testing::WriteText(dir.Sub("empty"), " \n");
  EXPECT_EQ(ReadTokenFile("--x", dir.Sub("empty")).status().code(),
            absl::StatusCode::kInvalidArgument);

  testing::WriteText(dir.Sub("spaced"), "two words\n");
  auto spaced = ReadTokenFile("--x", dir.Sub("spaced"));
  EXPECT_EQ(spaced.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(spaced.status().message().find("two words"), absl::string_view::npos);
}

}  // namespace
}  // namespace monoroute
