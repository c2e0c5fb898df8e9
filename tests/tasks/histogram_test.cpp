#include "nddr/tasks/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace nddr {
namespace {

TEST(BinnedOrderStatistics, MedianOfKnownValues) {
  BinnedOrderStatistics stats(0, 10, 10000);
  for (double v : {7.0, 1.0, 3.0}) stats.add(v);
  EXPECT_NEAR(stats.median(), 3.0, stats.bin_width());
  stats.add(9.0);  // even count: mean of the middle two, 3 and 7
  EXPECT_NEAR(stats.median(), 5.0, stats.bin_width());
  EXPECT_NEAR(stats.order_statistic(1), 1.0, stats.bin_width());
  EXPECT_NEAR(stats.order_statistic(4), 9.0, stats.bin_width());
}

TEST(BinnedOrderStatistics, SpreadsValuesInsideTheirBin) {
  // Four values in one bin [0, 1): placed at the centres of four slices.
  BinnedOrderStatistics stats(0, 10, 10);
  for (double v : {0.1, 0.2, 0.3, 0.4}) stats.add(v);
  EXPECT_DOUBLE_EQ(stats.order_statistic(1), 0.125);
  EXPECT_DOUBLE_EQ(stats.order_statistic(4), 0.875);
}

TEST(BinnedOrderStatistics, WithinOneBinOfTheExactMedian) {
  std::mt19937 generator(5);
  std::uniform_real_distribution<double> angle(0, 180);
  BinnedOrderStatistics stats(0, 180, 180000);
  std::vector<double> values(20001);
  for (auto& v : values) {
    v = angle(generator);
    stats.add(v);
  }
  std::nth_element(values.begin(), values.begin() + 10000, values.end());
  EXPECT_NEAR(stats.median(), values[10000], stats.bin_width());
}

TEST(BinnedOrderStatistics, ClampsOutOfRangeAndResets) {
  BinnedOrderStatistics stats(0, 180, 180);
  stats.add(-5.0);
  stats.add(200.0);
  EXPECT_LT(stats.order_statistic(1), 1.0);
  EXPECT_GT(stats.order_statistic(2), 179.0);
  stats.reset();
  EXPECT_EQ(stats.count(), 0);
  EXPECT_TRUE(std::isnan(stats.median()));
}

TEST(BinnedOrderStatistics, NanCountsAsTheHighestValue) {
  BinnedOrderStatistics stats(0, 180, 180);
  for (int i = 0; i < 3; ++i) stats.add(std::nan(""));
  stats.add(1.0);
  EXPECT_GT(stats.median(), 179.0) << "NaN angles must not make a good median";
  EXPECT_LT(stats.order_statistic(1), 2.0);
}

}  // namespace
}  // namespace nddr
