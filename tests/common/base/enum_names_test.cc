// Tests of the table-driven enum names: name of a value, parse of a name, the error's text.
#include "common/base/enum_names.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace monoroute {
namespace {

using ::monoroute::testing::StatusIs;
using ::testing::HasSubstr;

enum class Color { kRed, kGreen, kBlue, kUnnamed };

constexpr EnumNames<Color, 3> kColorNames = {
    {{Color::kRed, "red"}, {Color::kGreen, "green"}, {Color::kBlue, "blue"}}};

TEST(EnumNamesTest, NamesEveryValueAndFallsBackForOthers) {
  static_assert(NameOf(kColorNames, Color::kGreen)[0] == 'g', "NameOf is constexpr");
  EXPECT_STREQ(NameOf(kColorNames, Color::kRed), "red");
  EXPECT_STREQ(NameOf(kColorNames, Color::kBlue), "blue");
  EXPECT_STREQ(NameOf(kColorNames, Color::kUnnamed), "?");
  EXPECT_STREQ(NameOf(kColorNames, Color::kUnnamed, "none"), "none");
}

TEST(EnumNamesTest, ParsesEveryNameBack) {
  for (const EnumName<Color>& n : kColorNames) {
    absl::StatusOr<Color> v = ParseEnum(kColorNames, n.name, "color");
    ASSERT_TRUE(v.ok()) << n.name;
    EXPECT_EQ(*v, n.value);
  }
}

TEST(EnumNamesTest, MatchesCaseOnlyWhenAsked) {
  EXPECT_FALSE(ParseEnum(kColorNames, "RED", "color").ok());
  absl::StatusOr<Color> v = ParseEnum(kColorNames, "Blue", "color", EnumCase::kIgnore);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, Color::kBlue);
  EXPECT_FALSE(FindEnum(kColorNames, "blu", EnumCase::kIgnore).has_value());
}

TEST(EnumNamesTest, ErrorNamesTheFieldAndListsTheAcceptedNames) {
  EXPECT_THAT(ParseEnum(kColorNames, "mauve", "paint.color"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "paint.color 'mauve' is not supported (expected 'red', 'green' or 'blue')"));
}

TEST(EnumNamesTest, ErrorListsCallerNamesFirstAndBoundsTheText) {
  const absl::Status s = UnsupportedNameError("--color", std::string(1000, 'x') + "\n",
                                              AcceptedNames(kColorNames, {"auto"}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("...(1001 bytes)' is not supported (expected 'auto', 'red', 'green' or "
                        "'blue')"));
  EXPECT_LT(s.message().size(), 200u);
  EXPECT_EQ(UnsupportedNameError("f", "x", {"only"}).message(),
            "f 'x' is not supported (expected 'only')");
}

}  // namespace
}  // namespace monoroute
