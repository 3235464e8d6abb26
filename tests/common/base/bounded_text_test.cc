// Tests of BoundedText: short text unchanged, long text cut with its size, no split UTF-8
// character, control bytes escaped.
#include "common/base/bounded_text.h"

#include <gtest/gtest.h>

#include <string>

namespace monoroute {
namespace {

TEST(BoundedTextTest, ShortTextIsUnchanged) {
  EXPECT_EQ(BoundedText("job-000001"), "job-000001");
  EXPECT_EQ(BoundedText(""), "");
  EXPECT_EQ(BoundedText(std::string(64, 'a')), std::string(64, 'a'));
}

TEST(BoundedTextTest, LongTextIsCutWithItsSize) {
  const std::string id(100000, 'x');
  const std::string out = BoundedText(id);
  EXPECT_EQ(out, std::string(64, 'x') + "...(100000 bytes)");
  EXPECT_EQ(BoundedText("abcdef", 3), "abc...(6 bytes)");
}

TEST(BoundedTextTest, NeverSplitsAUtf8Character) {
  // "é" is two bytes (C3 A9); a cut after 3 bytes would split the second one.
  const std::string s = "a\xC3\xA9\xC3\xA9";
  EXPECT_EQ(BoundedText(s, 2), "a...(5 bytes)");
  EXPECT_EQ(BoundedText(s, 3), "a\xC3\xA9...(5 bytes)");
}

TEST(BoundedTextTest, ControlBytesAreEscaped) {
  EXPECT_EQ(BoundedText(std::string("a\nb\x7f", 4)), "a\\x0ab\\x7f");
  EXPECT_EQ(BoundedText(std::string("\0z", 2)), "\\x00z");
}

}  // namespace
}  // namespace monoroute
