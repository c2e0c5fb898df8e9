#include "nddr/config/config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "nddr/tasks/task.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

// Bounds of the task list's fields (the list is not a schema key per field).
constexpr int64_t kMaxTaskChannels = 100000;
constexpr double kMaxLossWeight = 1e6;

const KeySpec* find_key(const std::string& key) {
  for (const auto& spec : config_schema()) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

std::vector<std::string> all_keys() {
  std::vector<std::string> keys;
  for (const auto& spec : config_schema()) keys.push_back(spec.key);
  return keys;
}

// True when some schema key lies below `prefix` (so a map there is a section).
bool is_section(const std::string& prefix) {
  for (const auto& spec : config_schema()) {
    if (starts_with(spec.key, prefix + ".")) return true;
  }
  return false;
}

// A value as the user wrote it, cut short: a message must not quote a
// whole pasted document.
std::string describe(const YAML::Node& value) {
  constexpr size_t kMaxQuoted = 80;
  YAML::Emitter out;
  out << YAML::Flow << value;
  const std::string text = out.c_str();
  return text.size() <= kMaxQuoted ? text : text.substr(0, kMaxQuoted) + "...";
}

template <typename T>
bool converts(const YAML::Node& node) {
  if (!node.IsScalar()) return false;
  try {
    node.as<T>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

template <typename T>
bool is_list_of(const YAML::Node& node) {
  if (!node.IsSequence()) return false;
  for (const auto& item : node) {
    if (!converts<T>(item)) return false;
  }
  return true;
}

// Returns "" when `value` fits `type`, else what was expected.
std::string type_problem(ValueType type, const YAML::Node& value) {
  switch (type) {
    case ValueType::kInt:
      return converts<int64_t>(value) ? "" : "an integer";
    case ValueType::kDouble:
      return converts<double>(value) ? "" : "a number";
    case ValueType::kBool:
      return converts<bool>(value) ? "" : "true or false";
    case ValueType::kString:
      return value.IsScalar() ? "" : "a string";
    case ValueType::kIntList:
      return is_list_of<int64_t>(value) ? "" : "a list of integers, e.g. [0, 2]";
    case ValueType::kDoubleList:
      return is_list_of<double>(value) ? "" : "a list of numbers, e.g. [0.5, 1.0]";
    case ValueType::kStringList:
      return is_list_of<std::string>(value) ? "" : "a list of strings, e.g. [a, b]";
    case ValueType::kStringMap: {
      if (value.IsNull()) return "";
      if (!value.IsMap()) return "a map of key: value";
      for (const auto& item : value) {
        if (!item.second.IsScalar()) return "a map whose values are scalars";
      }
      return "";
    }
    case ValueType::kTaskList:
      return value.IsSequence() ? "" : "a list of {name, kind, channels, loss_weight}";
  }
  return "a valid value";
}

void check_task_list(const YAML::Node& tasks, const std::string& origin) {
  const std::vector<std::string> fields = {"name", "kind", "channels", "loss_weight"};
  for (size_t i = 0; i < tasks.size(); ++i) {
    const YAML::Node& task = tasks[i];
    const std::string where = origin + ": tasks[" + std::to_string(i) + "]";
    if (!task.IsMap()) throw Error(where + " must be a map {name, kind, channels, loss_weight}");
    for (const auto& field : task) {
      const std::string name = field.first.as<std::string>();
      if (std::find(fields.begin(), fields.end(), name) == fields.end()) {
        throw Error(where + ": unknown key '" + name + "'" + did_you_mean(name, fields) +
                    "; valid: " + join(fields, ", "));
      }
    }
    for (const char* required : {"name", "kind"}) {
      if (!task[required]) throw Error(where + ": missing '" + required + "'");
      if (!converts<std::string>(task[required])) {
        throw Error(where + "." + required + ": expected a string, got " +
                    describe(task[required]));
      }
    }
    parse_task_kind(task["kind"].as<std::string>());
    if (task["channels"] &&
        (!converts<int64_t>(task["channels"]) || task["channels"].as<int64_t>() < 1 ||
         task["channels"].as<int64_t>() > kMaxTaskChannels)) {
      throw Error(where + ".channels: expected an integer in [1, " +
                  std::to_string(kMaxTaskChannels) + "], got " + describe(task["channels"]));
    }
    if (task["loss_weight"] && (!converts<double>(task["loss_weight"]) ||
                                !(task["loss_weight"].as<double>() >= 0 &&
                                  task["loss_weight"].as<double>() <= kMaxLossWeight))) {
      throw Error(where + ".loss_weight: expected a finite number in [0, 1e6], got " +
                  describe(task["loss_weight"]));
    }
  }
}

}  // namespace

Config::Config() : values_(YAML::NodeType::Map) {
  // Parsed once: a Config is made per file, override set and fuzz input, and
  // parsing a hundred defaults each time was most of its cost.
  static const std::vector<YAML::Node> defaults = [] {
    std::vector<YAML::Node> parsed;
    for (const auto& spec : config_schema()) parsed.push_back(YAML::Load(spec.default_value));
    return parsed;
  }();
  // yaml-cpp promises nothing about threads reading one node at once.
  static std::mutex reading;
  const std::lock_guard<std::mutex> lock(reading);
  const auto& schema = config_schema();
  for (size_t i = 0; i < schema.size(); ++i) values_[schema[i].key] = YAML::Clone(defaults[i]);
}

Config::Config(const Config& other) : values_(YAML::Clone(other.values_)) {}

Config& Config::operator=(const Config& other) {
  if (this != &other) values_ = YAML::Clone(other.values_);
  return *this;
}

void Config::set(const std::string& key, const YAML::Node& value, const std::string& origin) {
  const KeySpec* spec = find_key(key);
  const auto dot = key.rfind('.');
  const KeySpec* parent = dot == std::string::npos ? nullptr : find_key(key.substr(0, dot));
  if (spec == nullptr && parent != nullptr && parent->type == ValueType::kStringMap) {
    // One entry of a free-form map (e.g. data.train.options.count): the other
    // entries stay.
    if (!value.IsScalar()) {
      throw Error(origin + ": bad value for '" + key + "': expected a scalar, got " +
                  describe(value));
    }
    if (!values_[parent->key].IsMap()) values_[parent->key] = YAML::Node(YAML::NodeType::Map);
    values_[parent->key][key.substr(dot + 1)] = YAML::Clone(value);
    return;
  }
  if (spec == nullptr) {
    throw Error(origin + ": unknown key '" + key + "'" + did_you_mean(key, all_keys()));
  }
  const std::string expected = type_problem(spec->type, value);
  if (!expected.empty()) {
    throw Error(origin + ": bad value for '" + key + "': expected " + expected + ", got " +
                describe(value));
  }
  const std::string out_of_range = value_problem(*spec, value);
  if (!out_of_range.empty()) {
    throw Error(origin + ": bad value for '" + key + "': expected " + out_of_range + ", got " +
                describe(value));
  }
  if (spec->type == ValueType::kTaskList) check_task_list(value, origin);
  values_[key] = YAML::Clone(value);
}

void Config::merge_node(const YAML::Node& node, const std::string& prefix,
                        const std::string& origin) {
  for (const auto& item : node) {
    const std::string name = item.first.as<std::string>();
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    if (find_key(key) == nullptr && is_section(key) && item.second.IsMap()) {
      merge_node(item.second, key, origin);
    } else {
      set(key, item.second, origin);
    }
  }
}

void Config::merge_yaml(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(origin + ": invalid YAML: " + e.what());
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw Error(origin + ": the top level must be a map of keys");
  merge_node(root, "", origin);
}

void Config::merge_file(const std::string& path) {
  // An ifstream opens a directory without complaint and reads nothing.
  if (std::filesystem::is_directory(path)) {
    throw Error("config file '" + path + "' is a directory, not a YAML file");
  }
  std::ifstream in(path);
  if (!in) throw Error("cannot read config file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  merge_yaml(text.str(), path);
}

void Config::apply_override(const std::string& assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw Error("override '" + assignment + "' must look like key=value");
  }
  const std::string key = assignment.substr(0, equals);
  const std::string origin = "override '" + assignment + "'";
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(equals + 1));
  } catch (const YAML::Exception& e) {
    throw Error(origin + ": invalid YAML value: " + e.what());
  }
  set(key, value, origin);
}

YAML::Node Config::node(const std::string& key) const {
  if (find_key(key) == nullptr) {
    throw Error("unknown config key '" + key + "'" + did_you_mean(key, all_keys()));
  }
  return values_[key];
}

int64_t Config::get_int(const std::string& key) const { return node(key).as<int64_t>(); }
double Config::get_double(const std::string& key) const { return node(key).as<double>(); }
bool Config::get_bool(const std::string& key) const { return node(key).as<bool>(); }
std::string Config::get_string(const std::string& key) const {
  const YAML::Node value = node(key);
  return value.IsNull() ? std::string() : value.as<std::string>();
}

std::vector<int64_t> Config::get_int_list(const std::string& key) const {
  return node(key).as<std::vector<int64_t>>();
}
std::vector<double> Config::get_double_list(const std::string& key) const {
  return node(key).as<std::vector<double>>();
}
std::vector<std::string> Config::get_string_list(const std::string& key) const {
  return node(key).as<std::vector<std::string>>();
}

std::vector<std::pair<std::string, std::string>> Config::get_string_map(
    const std::string& key) const {
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& item : node(key)) {
    entries.emplace_back(item.first.as<std::string>(), item.second.as<std::string>());
  }
  return entries;
}

std::string Config::to_yaml() const {
  // Nest the dotted keys again so the saved file reads like a hand-written config.
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& spec : config_schema()) {
    const auto parts = split(spec.key, '.');
    YAML::Node parent = root;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (!parent[parts[i]]) parent[parts[i]] = YAML::Node(YAML::NodeType::Map);
      parent.reset(parent[parts[i]]);  // rebind; operator= would overwrite the value
    }
    parent[parts.back()] = values_[spec.key];
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace nddr
