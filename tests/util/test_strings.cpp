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

TEST(Strings, EditDistanceCountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("steps", ""), 5u);
  EXPECT_EQ(edit_distance("train", "trian"), 2u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

// closest_match skips candidates whose length alone rules them out; what it
// returns must be what comparing with every candidate gives.
TEST(Strings, ClosestMatchIsTheNearestCandidateWithinReach) {
  const std::vector<std::string> keys = {"train.steps", "train.lr", "data.workers", "threads", "a"};
  EXPECT_EQ(closest_match("train.step", keys), "train.steps");
  EXPECT_EQ(closest_match("trian.lr", keys), "train.lr");
  EXPECT_EQ(closest_match("data.worker", keys), "data.workers");
  EXPECT_EQ(closest_match("b", keys), "a");
  EXPECT_EQ(closest_match("thread", keys), "threads");
  EXPECT_EQ(closest_match("completely.different.key", keys), "");
  EXPECT_EQ(closest_match(std::string(5000, 'x'), keys), "");
  EXPECT_EQ(closest_match("train.steps" + std::string(3, 'x'), keys), "train.steps");
}

}  // namespace
}  // namespace nddr
