#include <gtest/gtest.h>
#include <stdlib.h>

#include "nddr/config/config.h"
#include "nddr/train/run.h"
#include "nddr/util/threads.h"

namespace nddr {
namespace {

// data.workers: 0 is auto (as threads: 0 is), never "load in the training
// thread": both loaders get default_workers(), an explicit count is kept.
TEST(LoaderConfig, ZeroWorkersMeansTheAutomaticCount) {
  Config config;
  config.apply_override("data.workers=0");
  EXPECT_GE(default_workers(), 1);
  EXPECT_EQ(train_loader_options(config).workers(), default_workers());
  EXPECT_EQ(eval_loader_options(config).workers(), default_workers());
  config.apply_override("data.workers=3");
  EXPECT_EQ(train_loader_options(config).workers(), 3);
  EXPECT_EQ(eval_loader_options(config).workers(), 3);
}

}  // namespace
}  // namespace nddr
