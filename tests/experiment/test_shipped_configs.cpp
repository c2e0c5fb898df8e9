// Every config the project ships must load, and every run of every shipped
// experiment must describe a network that can be built: a typo or a value a
// backbone rejects fails here, not an hour into an experiment.
#include <gtest/gtest.h>

#include <filesystem>

#include "nddr/config/network_config.h"
#include "nddr/experiment/experiment.h"
#include "nddr/models/multitask_net.h"

namespace nddr {
namespace {

namespace fs = std::filesystem;

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
    }
  }
}

}  // namespace
}  // namespace nddr
