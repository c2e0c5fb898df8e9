#include <gtest/gtest.h>

#include "nddr/util/strings.h"

namespace nddr {
namespace {

TEST(Strings, ParseSmallCountTakesOnlyPlainDigits) {
  EXPECT_EQ(parse_small_count("0"), 0);
  EXPECT_EQ(parse_small_count("007"), 7);
  EXPECT_EQ(parse_small_count("99999"), 99999);
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1.5", "1e3", "2abc", "100000"}) {
    EXPECT_FALSE(parse_small_count(bad).has_value()) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace nddr
