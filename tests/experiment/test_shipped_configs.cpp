// Every config the project ships must load, and every run of every shipped
// experiment must describe a network that can be built: a typo or a value a
// backbone rejects fails here, not an hour into an experiment.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "nddr/config/network_config.h"
#include "nddr/experiment/experiment.h"
#include "nddr/models/multitask_net.h"
#include "nddr/train/run.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

namespace fs = std::filesystem;

// What the Trainer checks of a config's training options, without data:
// optimizer, schedule and weighting method with its options.
void check_train_options(const Config& config) {
  const TrainOptions options = train_options(config);
  validate(options.schedule(), options.steps());
  make_weighting(options.weighting(), static_cast<int64_t>(tasks_from_config(config).size()));
  const auto names = optimizer_names();
  if (std::find(names.begin(), names.end(), options.optimizer().name()) == names.end()) {
    throw Error("unknown optimizer " + options.optimizer().name());
  }
}

std::vector<fs::path> yaml_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ShippedConfigs, EveryTrainingConfigBuildsItsNetwork) {
  const auto files = yaml_files(fs::path(NDDR_SOURCE_DIR) / "configs");
  ASSERT_FALSE(files.empty());
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    Config config;
    ASSERT_NO_THROW(config.merge_file(file.string()));
    EXPECT_NO_THROW(network_options_from_config(config));
    EXPECT_NO_THROW(check_train_options(config));
  }
}

TEST(ShippedConfigs, EveryExperimentRunBuildsItsNetwork) {
  const auto files = yaml_files(fs::path(NDDR_SOURCE_DIR) / "configs/experiments");
  ASSERT_FALSE(files.empty());
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    const ExperimentSpec spec = load_experiment(file.string());
    for (const auto& run : expand_runs(spec)) {
      SCOPED_TRACE(run.name);
      const NetworkOptions options = network_options_from_config(run_config(spec, run));
      // Building checks what options alone cannot (backbone strides, positions).
      EXPECT_NO_THROW(MultiTaskNet{options});
      EXPECT_NO_THROW(check_train_options(run_config(spec, run)));
    }
  }
}

}  // namespace
}  // namespace nddr
