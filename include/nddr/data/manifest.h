#pragma once
// The user's own data, listed in a manifest (formats in docs/data-formats.md):
//
//   CSV, a header row then one row per sample:
//     image,seg,depth,label
//     rgb/0001.jpg,seg/0001.png,depth/0001.png,3
//   JSONL, one object per line:
//     {"image": "rgb/0001.jpg", "seg": "seg/0001.png", "label": 3}
//
// Each task of the caller's list needs a column (key); its cells hold a class
// index (classification) or a label-map path (dense tasks), relative to the
// manifest's folder. An empty cell, a missing key or null is a missing target.
//
//   nddr::Manifest data(nddr::ManifestOptions().path("data/train.csv").tasks(tasks));

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nddr/data/dataset.h"

namespace nddr {

struct ManifestOptions {
  /// The manifest: .csv, or .jsonl / .ndjson for JSON lines.
  TORCH_ARG(std::string, path) = "";
  /// Names and kinds of the targets to read, one column (key) each.
  TORCH_ARG(std::vector<TaskSpec>, tasks) = {};
  /// Depth PNG value to metres: 0.001 for millimetres.
  TORCH_ARG(double, depth_scale) = 0.001;
};

/// Parses the manifest and checks that every named file exists on
/// construction (Error naming the manifest, line and column or key); get()
/// decodes the files, thread-safe.
class Manifest : public Dataset {
 public:
  explicit Manifest(ManifestOptions options);

  int64_t size() const override;
  Sample get(int64_t index) const override;
  std::vector<TaskSpec> tasks() const override;
  std::string describe() const override;

  const ManifestOptions& options() const { return options_; }

 private:
  // One target cell: a label-map file or a class index, or nothing.
  struct Target {
    bool present = false;
    std::string file;    // dense tasks
    int64_t label = -1;  // classification
  };
  struct Entry {
    std::string image;
    std::vector<Target> targets;  // in task order
  };

  ManifestOptions options_;
  std::vector<Entry> entries_;
};

}  // namespace nddr
