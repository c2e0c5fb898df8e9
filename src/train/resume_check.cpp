#include "nddr/train/resume_check.h"

#include <algorithm>
#include <sstream>

#include "nddr/config/network_config.h"

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

std::string number_text(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

// A key's value as text that is equal exactly when the values are: "0.010"
// and "1e-2" are one learning rate, a block and a flow list one list.
std::string canonical(const Config& config, const KeySpec& spec) {
  switch (spec.type) {
    case ValueType::kInt:
      return std::to_string(config.get_int(spec.key));
    case ValueType::kDouble:
      return number_text(config.get_double(spec.key));
    case ValueType::kBool:
      return config.get_bool(spec.key) ? "true" : "false";
    case ValueType::kString:
      return config.get_string(spec.key);
    case ValueType::kIntList: {
      std::vector<std::string> items;
      for (int64_t value : config.get_int_list(spec.key)) items.push_back(std::to_string(value));
      return "[" + join(items, ", ") + "]";
    }
    case ValueType::kDoubleList: {
      std::vector<std::string> items;
      for (double value : config.get_double_list(spec.key)) items.push_back(number_text(value));
      return "[" + join(items, ", ") + "]";
    }
    case ValueType::kStringList:
      return "[" + join(config.get_string_list(spec.key), ", ") + "]";
    case ValueType::kStringMap: {
      auto entries = config.get_string_map(spec.key);
      std::sort(entries.begin(), entries.end());
      std::vector<std::string> items;
      for (const auto& [key, value] : entries) items.push_back(key + ": " + value);
      return "{" + join(items, ", ") + "}";
    }
    case ValueType::kTaskList: {
      std::vector<std::string> items;
      for (const auto& task : tasks_from_config(config)) {
        items.push_back("{" + task.name + ", " + to_string(task.kind) + ", " +
                        std::to_string(task.channels) + ", " + number_text(task.loss_weight) + "}");
      }
      return "[" + join(items, ", ") + "]";
    }
  }
  YAML::Emitter out;
  out << YAML::Flow << config.node(spec.key);
  return out.c_str();
}

}  // namespace

const std::vector<std::string>& resumable_keys() {
  // Schedule, logging, evaluation and loading: they change how the rest of
  // the run proceeds or is reported, not what was trained so far.
  static const std::vector<std::string> keys = {
      "name",
      "output_dir",
      "threads",
      "train.steps",
      "train.lr",
      "train.poly_power",
      "train.log_every",
      "train.eval_every",
      "train.checkpoint_every",
      "train.nan_policy",
      "train.max_skipped_steps",
      "data.workers",
      "data.prefetch",
      "data.test.dataset",
      "data.test.options",
      "eval.batch_size",
      // Where and how fast the rest runs: checkpoints are device-independent,
      // and a run may resume with another world size.
      "device",
      "precision",
      "channels_last",
      "cudnn.benchmark",
      "cudnn.deterministic",
      "dist.backend",
      "dist.timeout",
      "dist.bucket_mb",
      "log.tensorboard",
      "log.tensorboard_images",
  };
  return keys;
}

std::vector<ConfigChange> config_changes(const Config& before, const Config& after) {
  std::vector<ConfigChange> changes;
  for (const auto& spec : config_schema()) {
    const std::string old_value = canonical(before, spec);
    const std::string new_value = canonical(after, spec);
    if (old_value != new_value) changes.push_back({spec.key, old_value, new_value});
  }
  return changes;
}

std::vector<ConfigChange> check_resume(const std::string& checkpoint_path,
                                       const std::string& checkpoint_yaml, const Config& current) {
  Config saved;
  try {
    saved.merge_yaml(checkpoint_yaml, "config of checkpoint '" + checkpoint_path + "'");
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (was it written by another nddr version?)");
  }
  std::vector<ConfigChange> allowed;
  std::vector<std::string> refused;
  for (const auto& change : config_changes(saved, current)) {
    const auto& keys = resumable_keys();
    if (std::find(keys.begin(), keys.end(), change.key) != keys.end()) {
      allowed.push_back(change);
    } else {
      refused.push_back(change.describe());
    }
  }
  if (!refused.empty()) {
    throw Error("cannot resume from checkpoint '" + checkpoint_path +
                "': the config changed in keys a resumed run must keep (" + join(refused, "; ") +
                "); start a new run (another name, or --overwrite) instead. Keys --resume may "
                "change: " +
                join(resumable_keys(), ", "));
  }
  return allowed;
}

}  // namespace nddr
