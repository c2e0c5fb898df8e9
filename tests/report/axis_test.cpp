#include "nddr/report/axis.h"

#include <gtest/gtest.h>

namespace nddr {
namespace {

void expect_ticks(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-12) << i;
}

TEST(NiceTicks, CoverTheRangeAtARoundStep) {
  expect_ticks(nice_ticks(0.13, 0.92, 5), {0, 0.2, 0.4, 0.6, 0.8, 1.0});
  expect_ticks(nice_ticks(0, 20000, 6), {0, 5000, 10000, 15000, 20000});
  expect_ticks(nice_ticks(-3, 7, 5), {-4, -2, 0, 2, 4, 6, 8});
  expect_ticks(nice_ticks(17.5, 19.25, 5), {17.5, 18, 18.5, 19, 19.5});
}

TEST(NiceTicks, EmptyRangeIsWidened) {
  const auto ticks = nice_ticks(5, 5, 5);
  EXPECT_LT(ticks.front(), 5);
  EXPECT_GT(ticks.back(), 5);
  EXPECT_GE(nice_ticks(0, 0, 5).size(), 2u);
}

TEST(FormatTick, DecimalsFollowTheStep) {
  EXPECT_EQ(format_tick(0.6000000000000001, 0.2), "0.6");
  EXPECT_EQ(format_tick(0.25, 0.05), "0.25");
  EXPECT_EQ(format_tick(15000, 5000), "15000");
  EXPECT_EQ(format_tick(-1.5, 0.5), "-1.5");
  EXPECT_EQ(format_tick(-1e-17, 0.1), "0.0");
  EXPECT_EQ(format_tick(1e-5, 1e-5), "1e-05");
  EXPECT_EQ(format_tick(2.5e6, 5e5), "2.5e+06");
}

TEST(LogTicks, PowersOfTenAroundTheRange) {
  expect_ticks(log_ticks(0.003, 20), {0.001, 0.01, 0.1, 1, 10, 100});
  expect_ticks(log_ticks(1, 1000), {1, 10, 100, 1000});
  expect_ticks(log_ticks(2, 3), {1, 10});
}

}  // namespace
}  // namespace nddr
