#pragma once
// Experiment files: a grid of methods x seeds (plus ablations on one method)
// trained on one benchmark. Each run is the base config, the method's (and
// ablation value's) overrides, the seed, and a name/output_dir set here:
//
//   name: synthetic-2task
//   base: ../demo.yaml                 # relative to this file; optional
//   config: {train: {steps: 300}}      # inline YAML merged after base; optional
//   set: [data.train.options={count: 500}]   # overrides after that; optional
//   output_dir: runs/experiments/synthetic-2task
//   report_dir: docs/results/synthetic-2task
//   seeds: [0, 1, 2]
//   reference: single                  # method label delta_m is measured against
//   metrics: [seg.miou, normals.mean]  # table columns; optional (default: all)
//   methods:
//     - {label: single, set: [network.fusion=single]}
//     - {label: nddr, set: [network.fusion=nddr,
//                           "train.init_from=[{output_dir}/single-s{seed}/weights.safetensors]"]}
//   ablations:
//     - name: lr_mult
//       method: nddr                   # the values' overrides go on top of it
//       seeds: [0]                     # optional; default: the experiment's
//       log_x: true                    # optional, for the plot
//       values:
//         - {label: x1, x: 1, set: [train.lr_mult_fusion=1]}
//
// In `set` strings, {seed} and {output_dir} are replaced by the run's values,
// so a method can start from another method's weights of the same seed.

#include <c10/util/Optional.h>
#include <cstdint>
#include <string>
#include <vector>

#include "nddr/config/config.h"

namespace nddr {

/// A labelled list of config overrides ("key=value").
struct MethodSpec {
  std::string label;
  std::vector<std::string> overrides;
};

/// One value of an ablation: overrides on top of the ablated method.
struct AblationValue {
  std::string label;
  c10::optional<double> x;  ///< position on the ablation plot's axis
  std::vector<std::string> overrides;
};

struct AblationSpec {
  std::string name;
  std::string method;  ///< label of the method it modifies
  std::vector<int64_t> seeds;
  bool log_x = false;
  std::vector<AblationValue> values;
};

struct ExperimentSpec {
  std::string name;
  std::string file;  ///< where it was read from ("" for text)
  Config base;       ///< base file + inline config + set, validated
  std::string output_dir;
  std::string report_dir;
  std::vector<int64_t> seeds;
  std::string reference;
  std::vector<std::string> metrics;  ///< "task.metric"; empty = all
  std::vector<MethodSpec> methods;
  std::vector<AblationSpec> ablations;
};

/// Parses experiment YAML. `base_dir` resolves a relative `base`. Unknown
/// keys (with the closest valid one), missing labels, duplicate labels, an
/// unknown reference or ablated method and bad overrides are Errors naming
/// `origin` and the key.
ExperimentSpec parse_experiment(const std::string& text, const std::string& origin,
                                const std::string& base_dir);

/// parse_experiment of a file, `base` relative to the file's folder.
ExperimentSpec load_experiment(const std::string& path);

/// One training run of the grid.
struct RunSpec {
  std::string row;       ///< table row: method label, or "<ablation>: <value label>"
  std::string ablation;  ///< "" for a method row
  std::string name;      ///< run name, unique in the experiment (a folder name)
  int64_t seed = 0;
  std::vector<std::string> overrides;  ///< placeholders substituted; seed/name/output_dir last
};

/// The grid in run order: every method for every seed (methods in file order,
/// so a method's dependencies listed before it run first), then every
/// ablation value for the ablation's seeds. An ablation value whose config
/// equals its method's (same seed) reuses that method's run name.
std::vector<RunSpec> expand_runs(const ExperimentSpec& spec);

/// The run's full config: base + overrides.
Config run_config(const ExperimentSpec& spec, const RunSpec& run);

/// "split@3" -> "split_3": letters, digits, '.', '-' and '_' kept.
std::string slug(const std::string& label);

}  // namespace nddr
