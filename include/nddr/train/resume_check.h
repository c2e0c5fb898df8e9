#pragma once
// What --resume may change. A checkpoint carries the config it was trained
// with; resuming compares it with the current one key by key. Keys on the
// allow-list (schedule, logging, evaluation and loader settings) may differ
// and are reported; any other difference (network, tasks, training data,
// optimizer recipe, seed) would continue a different run, and is an Error
// listing every differing key.

#include <string>
#include <vector>

#include "nddr/config/config.h"

namespace nddr {

/// One key whose value differs: "train.steps: 100 -> 200".
struct ConfigChange {
  std::string key;
  std::string before;
  std::string after;
  std::string describe() const { return key + ": " + before + " -> " + after; }
};

/// Keys whose values differ between two configs, in schema order.
std::vector<ConfigChange> config_changes(const Config& before, const Config& after);

/// The keys a resumed run may change.
const std::vector<std::string>& resumable_keys();

/// Checks `current` against the config saved in checkpoint `checkpoint_path`
/// (its YAML text `checkpoint_yaml`) and returns the allowed changes; any
/// other change is an Error naming the checkpoint and listing the keys.
std::vector<ConfigChange> check_resume(const std::string& checkpoint_path,
                                       const std::string& checkpoint_yaml, const Config& current);

}  // namespace nddr
