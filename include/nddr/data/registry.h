#pragma once
// Datasets by name, configured by text options, so a config file or the CLI
// builds any dataset the same way (options of each: docs/data-formats.md).
//
//   nddr::DatasetSpec spec{"nyuv2_mtan", {{"root", "/data/nyuv2"}, {"split", "val"}}, tasks};
//   std::shared_ptr<nddr::Dataset> data = nddr::make_dataset(spec);

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nddr/data/dataset.h"
#include "nddr/tasks/task.h"
#include "nddr/util/registry.h"

namespace nddr {

struct DatasetSpec {
  /// Registry entry: "synthetic_scenes", "multi_fashion", "nyuv2_lists",
  /// "nyuv2_mtan" or "manifest".
  std::string name;
  /// The entry's options as text, e.g. {"root": "/data/nyuv2", "split": "val"};
  /// an omitted option takes its default.
  std::map<std::string, std::string> options;
  /// The network's tasks: the manifest takes its columns' kinds from them; the
  /// other datasets know their tasks and the loaders check them against these.
  std::vector<TaskSpec> tasks;
};

/// Builds a dataset from a spec; throws Error for an option it does not know.
using DatasetFactory = std::function<std::shared_ptr<Dataset>(const DatasetSpec&)>;

/// The dataset registry with the built-in entries; add to it (before any
/// make_dataset call, it is not locked) to plug in a dataset.
Registry<DatasetFactory>& dataset_registry();

/// Builds the dataset `spec` names. An unknown name or option key is an Error
/// naming it and the closest valid one, raised before any file is read; a
/// malformed value is an Error naming the option; the dataset's own checks
/// throw Errors naming its files.
std::shared_ptr<Dataset> make_dataset(const DatasetSpec& spec);

}  // namespace nddr
