#pragma once
// Experiment configs: YAML files checked against one schema of known keys,
// with command-line overrides "key=value". Every key has a type, a default
// and a one-line description (`nddr train --help-config` prints them).

#include <yaml-cpp/yaml.h>

#include <limits>
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

/// Bounds of a numeric key (of each element, for lists). A key whose spec
/// gives none gets its type's default range (see effective_range), so no
/// numeric key goes unchecked.
struct Range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_open = false;  ///< min itself is excluded
  bool max_open = false;  ///< max itself is excluded
  bool given = false;     ///< false: use the type's default range
};

/// [min, max].
Range between(double min, double max);
/// [min, max).
Range from_below(double min, double max);
/// (min, max].
Range above(double min, double max);

/// Checks beyond type and range (e.g. a run name that is not "."): returns
/// "" when the value is fine, else what is expected.
using ValueCheck = std::string (*)(const YAML::Node& value);

/// One known key, e.g. {"train.steps", kInt, "1000", "optimizer steps", between(1, 1e9)}.
struct KeySpec {
  std::string key;
  ValueType type;
  std::string default_value;  ///< YAML text
  std::string help;
  Range range = {};            ///< numeric keys; unset = the type's default range
  ValueCheck check = nullptr;  ///< optional extra check
};

/// The bounds a numeric key is checked against: its spec's range, or by type
/// integers in [0, 1e9] and other numbers in [-1e9, 1e9]. Every number must
/// also be finite (no NaN or Inf).
Range effective_range(const KeySpec& spec);

/// "" when `value` (already of the key's type) lies in the key's range and
/// passes its check, else what is expected ("a finite number in [0, 1e+06]").
std::string value_problem(const KeySpec& spec, const YAML::Node& value);

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
