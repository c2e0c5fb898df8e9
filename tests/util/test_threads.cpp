#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <string>
#include <thread>

#include "nddr/util/error.h"
#include "nddr/util/threads.h"

namespace nddr {
namespace {

// Restores NDDR_THREADS (the test runner sets it) when a test ends.
class ThreadsEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* value = getenv("NDDR_THREADS");
    had_value_ = value != nullptr;
    if (had_value_) saved_ = value;
  }
  void TearDown() override {
    if (had_value_) {
      setenv("NDDR_THREADS", saved_.c_str(), 1);
    } else {
      unsetenv("NDDR_THREADS");
    }
  }

 private:
  bool had_value_ = false;
  std::string saved_;
};

TEST_F(ThreadsEnv, ZeroMeansAllCoresWithoutTheVariable) {
  unsetenv("NDDR_THREADS");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(default_threads(), cores);
  EXPECT_EQ(configure_threads(0), cores);
  EXPECT_EQ(configure_threads(1), 1);
}

TEST_F(ThreadsEnv, VariableSetsTheDefaultButNotAnExplicitCount) {
  setenv("NDDR_THREADS", "3", 1);
  EXPECT_EQ(default_threads(), 3);
  EXPECT_EQ(configure_threads(0), 3);
  EXPECT_EQ(configure_threads(2), 2);
}

TEST_F(ThreadsEnv, AutoWorkersAreHalfTheDefaultThreadsWithinOneToEight) {
  for (const char* threads : {"1", "2", "3", "8"}) {
    if (std::stoll(threads) > max_thread_count()) continue;
    setenv("NDDR_THREADS", threads, 1);
    EXPECT_EQ(default_workers(), std::clamp(std::stoi(threads) / 2, 1, 8)) << threads;
  }
  unsetenv("NDDR_THREADS");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(default_workers(), std::clamp(cores / 2, 1, 8));
}

TEST_F(ThreadsEnv, BadValuesAreErrorsNamingThem) {
  for (const char* bad : {"0", "-2", "two", "", "1.5", "99999999"}) {
    setenv("NDDR_THREADS", bad, 1);
    try {
      default_threads();
      ADD_FAILURE() << "NDDR_THREADS='" << bad << "' accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'" + std::string(bad) + "'"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace nddr
