#pragma once
// Experiment configs: YAML files checked against one schema of known keys,
// with command-line overrides "key=value". Every key has a type, a default
// and a one-line description (`nddr train --help-config` prints them).

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace nddr {

/// The type of a config key's value.
enum class ValueType {
  kInt,
  kDouble,
  kBool,
  kString,
  kIntList,
  kDoubleList,
  kStringList,
  kStringMap,  ///< free-form string -> scalar map, validated by its consumer
  kTaskList,   ///< list of {name, kind, channels, loss_weight}
};

/// One known key, e.g. {"train.steps", kInt, "1000", "optimizer steps"}.
struct KeySpec {
  std::string key;
  ValueType type;
  std::string default_value;  ///< YAML text
  std::string help;
};

/// Every key nddr understands.
const std::vector<KeySpec>& config_schema();

/// A validated config tree: the schema's defaults overlaid with a file and
/// overrides. Reads never see an unknown key or a value of the wrong type.
class Config {
 public:
  /// The schema's defaults.
  Config();
  /// Copies are deep: YAML::Node copies would share one tree, so an override
  /// applied to a copy would change the original.
  Config(const Config& other);
  Config& operator=(const Config& other);
  Config(Config&&) noexcept = default;
  Config& operator=(Config&&) noexcept = default;

  /// Overlays a YAML file; unknown keys and bad values are Errors naming the
  /// file, the dotted key and (for typos) the closest valid key.
  void merge_file(const std::string& path);
  /// Overlays YAML text (`origin` names it in errors).
  void merge_yaml(const std::string& text, const std::string& origin);
  /// Applies "dotted.key=value" (value in YAML syntax: 3, 0.1, true, [1,2], name).
  void apply_override(const std::string& assignment);

  int64_t get_int(const std::string& key) const;
  double get_double(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::vector<int64_t> get_int_list(const std::string& key) const;
  std::vector<double> get_double_list(const std::string& key) const;
  std::vector<std::string> get_string_list(const std::string& key) const;
  /// Free-form map as strings (scalars printed as YAML).
  std::vector<std::pair<std::string, std::string>> get_string_map(const std::string& key) const;
  /// The raw node of a key (task lists).
  YAML::Node node(const std::string& key) const;

  /// The effective config as YAML text (saved beside every run).
  std::string to_yaml() const;

 private:
  void set(const std::string& key, const YAML::Node& value, const std::string& origin);
  void merge_node(const YAML::Node& node, const std::string& prefix, const std::string& origin);
  YAML::Node values_;  // flat map: dotted key -> value
};

}  // namespace nddr
