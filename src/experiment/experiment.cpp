#include "nddr/experiment/experiment.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

const std::vector<std::string> kTopKeys = {"name",       "base",       "config",   "set",
                                           "output_dir", "report_dir", "seeds",    "reference",
                                           "metrics",    "methods",    "ablations"};
const std::vector<std::string> kMethodKeys = {"label", "set"};
const std::vector<std::string> kAblationKeys = {"name", "method", "seeds", "log_x", "values"};
const std::vector<std::string> kValueKeys = {"label", "x", "set"};

struct Reader {
  std::string origin;

  void check_keys(const YAML::Node& node, const std::vector<std::string>& valid,
                  const std::string& where) const {
    if (!node.IsMap()) throw Error(origin + ": " + where + " must be a mapping");
    for (const auto& entry : node) {
      const auto key = entry.first.as<std::string>();
      if (std::find(valid.begin(), valid.end(), key) == valid.end()) {
        throw Error(origin + ": unknown key '" + (where.empty() ? "" : where + ".") + key + "'" +
                    did_you_mean(key, valid) + "; valid: " + join(valid, ", "));
      }
    }
  }

  template <typename T>
  T scalar(const YAML::Node& node, const std::string& where) const {
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      throw Error(origin + ": '" + where + "' has a bad value");
    }
  }

  std::string required_string(const YAML::Node& parent, const std::string& key,
                              const std::string& where) const {
    if (!parent[key]) throw Error(origin + ": '" + where + "' needs '" + key + "'");
    return scalar<std::string>(parent[key], where + "." + key);
  }

  std::vector<std::string> strings(const YAML::Node& node, const std::string& where) const {
    if (!node) return {};
    if (!node.IsSequence()) throw Error(origin + ": '" + where + "' must be a list");
    return scalar<std::vector<std::string>>(node, where);
  }

  std::vector<int64_t> seeds(const YAML::Node& node, const std::string& where) const {
    if (!node.IsSequence() || node.size() == 0) {
      throw Error(origin + ": '" + where + "' must be a non-empty list of integers");
    }
    auto values = scalar<std::vector<int64_t>>(node, where);
    if (std::set<int64_t>(values.begin(), values.end()).size() != values.size()) {
      throw Error(origin + ": '" + where + "' lists a seed twice");
    }
    return values;
  }
};

std::string substitute(std::string text, const std::string& key, const std::string& value) {
  for (size_t at = text.find(key); at != std::string::npos;
       at = text.find(key, at + value.size())) {
    text.replace(at, key.size(), value);
  }
  return text;
}

std::string fill_placeholders(const std::string& assignment, int64_t seed,
                              const std::string& output_dir) {
  return substitute(substitute(assignment, "{seed}", std::to_string(seed)), "{output_dir}",
                    output_dir);
}

// Applies every override once to a scratch config, so a typo in a key fails
// when the file is read, not after an hour of training.
void check_overrides(const ExperimentSpec& spec, const std::vector<std::string>& overrides,
                     const std::string& where) {
  Config scratch = spec.base;
  for (const auto& assignment : overrides) {
    try {
      scratch.apply_override(fill_placeholders(assignment, spec.seeds.front(), spec.output_dir));
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
  }
}

// The methods list: labels unique, overrides valid.
void parse_methods(const Reader& reader, const YAML::Node& methods, const std::string& origin,
                   ExperimentSpec& spec) {
  if (!methods || !methods.IsSequence() || methods.size() == 0) {
    throw Error(origin + ": 'methods' must be a non-empty list");
  }
  std::vector<std::string> labels;
  for (size_t i = 0; i < methods.size(); ++i) {
    const YAML::Node node = methods[i];
    const std::string where = "methods[" + std::to_string(i) + "]";
    reader.check_keys(node, kMethodKeys, where);
    MethodSpec method{reader.required_string(node, "label", where),
                      reader.strings(node["set"], where + ".set")};
    if (std::find(labels.begin(), labels.end(), method.label) != labels.end()) {
      throw Error(origin + ": method label '" + method.label + "' is used twice");
    }
    check_overrides(spec, method.overrides, origin + ": " + where);
    labels.push_back(method.label);
    spec.methods.push_back(std::move(method));
  }
}

// The ablations, each over a method of `spec`.
void parse_ablations(const Reader& reader, const YAML::Node& ablations, const std::string& origin,
                     ExperimentSpec& spec) {
  std::vector<std::string> labels;
  for (const auto& method : spec.methods) labels.push_back(method.label);
  if (!ablations.IsSequence()) throw Error(origin + ": 'ablations' must be a list");
  for (size_t i = 0; i < ablations.size(); ++i) {
    const YAML::Node node = ablations[i];
    const std::string where = "ablations[" + std::to_string(i) + "]";
    reader.check_keys(node, kAblationKeys, where);
    AblationSpec ablation;
    ablation.name = reader.required_string(node, "name", where);
    for (const auto& other : spec.ablations) {
      if (other.name == ablation.name) {
        throw Error(origin + ": ablation name '" + ablation.name + "' is used twice");
      }
    }
    ablation.method = reader.required_string(node, "method", where);
    if (std::find(labels.begin(), labels.end(), ablation.method) == labels.end()) {
      throw Error(origin + ": " + where + ".method '" + ablation.method +
                  "' is not a method label" + did_you_mean(ablation.method, labels));
    }
    ablation.seeds = node["seeds"] ? reader.seeds(node["seeds"], where + ".seeds") : spec.seeds;
    if (node["log_x"]) ablation.log_x = reader.scalar<bool>(node["log_x"], where + ".log_x");
    if (!node["values"] || !node["values"].IsSequence() || node["values"].size() == 0) {
      throw Error(origin + ": " + where + ".values must be a non-empty list");
    }
    const auto& method =
        *std::find_if(spec.methods.begin(), spec.methods.end(),
                      [&](const MethodSpec& m) { return m.label == ablation.method; });
    std::set<std::string> value_labels;
    for (size_t j = 0; j < node["values"].size(); ++j) {
      const YAML::Node value_node = node["values"][j];
      const std::string value_where = where + ".values[" + std::to_string(j) + "]";
      reader.check_keys(value_node, kValueKeys, value_where);
      AblationValue value;
      value.label = reader.required_string(value_node, "label", value_where);
      if (!value_labels.insert(value.label).second) {
        throw Error(origin + ": " + value_where + ": label '" + value.label + "' is used twice");
      }
      if (value_node["x"]) value.x = reader.scalar<double>(value_node["x"], value_where + ".x");
      value.overrides = reader.strings(value_node["set"], value_where + ".set");
      std::vector<std::string> combined = method.overrides;
      combined.insert(combined.end(), value.overrides.begin(), value.overrides.end());
      check_overrides(spec, combined, origin + ": " + value_where);
      ablation.values.push_back(std::move(value));
    }
    spec.ablations.push_back(std::move(ablation));
  }
}

}  // namespace

std::string slug(const std::string& label) {
  std::string result;
  for (char c : label) {
    const bool keep =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    result += keep ? c : '_';
  }
  return result;
}

ExperimentSpec parse_experiment(const std::string& text, const std::string& origin,
                                const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(origin + ": not valid YAML: " + e.what());
  }
  const Reader reader{origin};
  reader.check_keys(root, kTopKeys, "");

  ExperimentSpec spec;
  spec.file = origin;
  spec.name = reader.required_string(root, "name", "experiment");
  if (root["base"]) {
    const std::filesystem::path base = reader.scalar<std::string>(root["base"], "base");
    spec.base.merge_file(base.is_absolute() ? base.string() : (base_dir / base).string());
  }
  if (root["config"]) spec.base.merge_yaml(YAML::Dump(root["config"]), origin + " (config)");
  for (const auto& assignment : reader.strings(root["set"], "set")) {
    try {
      spec.base.apply_override(assignment);
    } catch (const Error& e) {
      throw Error(origin + ": set: " + e.what());
    }
  }
  spec.output_dir = root["output_dir"]
                        ? reader.scalar<std::string>(root["output_dir"], "output_dir")
                        : "runs/experiments/" + slug(spec.name);
  spec.report_dir = root["report_dir"]
                        ? reader.scalar<std::string>(root["report_dir"], "report_dir")
                        : spec.output_dir + "/report";
  if (!root["seeds"]) throw Error(origin + ": 'seeds' is missing");
  spec.seeds = reader.seeds(root["seeds"], "seeds");
  spec.metrics = reader.strings(root["metrics"], "metrics");
  for (const auto& metric : spec.metrics) {
    if (metric.find('.') == std::string::npos) {
      throw Error(origin + ": metrics: '" + metric + "' is not of the form task.metric");
    }
  }

  parse_methods(reader, root["methods"], origin, spec);
  std::vector<std::string> labels;
  for (const auto& method : spec.methods) labels.push_back(method.label);
  spec.reference = root["reference"] ? reader.scalar<std::string>(root["reference"], "reference")
                                     : spec.methods.front().label;
  if (std::find(labels.begin(), labels.end(), spec.reference) == labels.end()) {
    throw Error(origin + ": reference '" + spec.reference + "' is not a method label" +
                did_you_mean(spec.reference, labels) + "; methods: " + join(labels, ", "));
  }
  if (root["ablations"]) parse_ablations(reader, root["ablations"], origin, spec);
  return spec;
}

ExperimentSpec load_experiment(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read experiment file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_experiment(text.str(), path, std::filesystem::path(path).parent_path().string());
}

std::vector<RunSpec> expand_runs(const ExperimentSpec& spec) {
  std::vector<RunSpec> runs;
  auto add = [&](const std::string& row, const std::string& ablation, const std::string& name,
                 int64_t seed, std::vector<std::string> overrides) {
    RunSpec run{row, ablation, name + "-s" + std::to_string(seed), seed, {}};
    for (const auto& assignment : overrides) {
      run.overrides.push_back(fill_placeholders(assignment, seed, spec.output_dir));
    }
    run.overrides.push_back("seed=" + std::to_string(seed));
    run.overrides.push_back("name=" + run.name);
    run.overrides.push_back("output_dir=" + spec.output_dir);
    runs.push_back(std::move(run));
  };
  for (const auto& method : spec.methods) {
    for (int64_t seed : spec.seeds)
      add(method.label, "", slug(method.label), seed, method.overrides);
  }
  const size_t method_runs = runs.size();
  for (const auto& ablation : spec.ablations) {
    const auto& method =
        *std::find_if(spec.methods.begin(), spec.methods.end(),
                      [&](const MethodSpec& m) { return m.label == ablation.method; });
    for (const auto& value : ablation.values) {
      std::vector<std::string> overrides = method.overrides;
      overrides.insert(overrides.end(), value.overrides.begin(), value.overrides.end());
      for (int64_t seed : ablation.seeds) {
        add(ablation.name + ": " + value.label, ablation.name,
            slug(ablation.name) + "-" + slug(value.label), seed, overrides);
        // A value equal to the method's own setting (e.g. the default init)
        // is that method's run: point at it instead of training it again.
        for (size_t i = 0; i < method_runs; ++i) {
          if (runs[i].row != method.label || runs[i].seed != seed) continue;
          RunSpec candidate = runs.back();
          candidate.overrides[candidate.overrides.size() - 2] = "name=" + runs[i].name;
          if (run_config(spec, candidate).to_yaml() == run_config(spec, runs[i]).to_yaml()) {
            runs.back().name = runs[i].name;
            runs.back().overrides = candidate.overrides;
          }
        }
      }
    }
  }
  return runs;
}

Config run_config(const ExperimentSpec& spec, const RunSpec& run) {
  Config config = spec.base;
  for (const auto& assignment : run.overrides) config.apply_override(assignment);
  return config;
}

}  // namespace nddr
