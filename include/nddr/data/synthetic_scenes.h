#pragma once
// Synthetic scenes: the project's built-in data, needing no files. Each sample
// is ray-cast on the fly from a random room (floor, walls, ceiling) holding a
// few objects of distinct shapes, and is a pure function of (seed, index).
//
//   nddr::SyntheticScenes data(nddr::SyntheticScenesOptions().count(1000).seed(7));
//   nddr::Sample s = data.get(3);  // s.targets: "seg", "normals", "depth"
//
// Conventions (see docs/data-synthetic.md):
// - labels: 0 floor, 1 wall (back, side and front walls and the ceiling),
//   2 + c for object class c in the order of kSyntheticShapeNames;
// - normals: unit vectors in the camera frame, x right, y up, z towards the
//   camera (so visible surfaces have a positive dot product with the
//   direction from the surface to the camera);
// - depth: z-depth along the optical axis in scene units (about 1..10); every
//   pixel is valid, so no pixel is 0;
// - camera: pinhole, pixel (i, j) is at (j + 0.5, i + 0.5), principal point
//   at the image centre, focal length (height / 2) / tan(fov_degrees / 2).

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nddr/data/dataset.h"

namespace nddr {

/// Object shapes, one per object class, in label order (label = 2 + index).
extern const std::vector<std::string> kSyntheticShapeNames;

struct SyntheticScenesOptions {
  /// Image size in pixels.
  TORCH_ARG(int64_t, height) = 64;
  TORCH_ARG(int64_t, width) = 64;
  /// Number of samples; sample i is generated from (seed, i).
  TORCH_ARG(int64_t, count) = 1000;
  TORCH_ARG(uint64_t, seed) = 0;
  /// Objects per scene, drawn uniformly from [min_objects, max_objects].
  TORCH_ARG(int64_t, min_objects) = 2;
  TORCH_ARG(int64_t, max_objects) = 5;
  /// Standard deviation of the Gaussian pixel noise added to the image.
  TORCH_ARG(double, noise) = 0.02;
  /// Object classes: the first `classes` shapes of kSyntheticShapeNames.
  TORCH_ARG(int64_t, classes) = 4;
  /// Vertical field of view of the pinhole camera.
  TORCH_ARG(double, fov_degrees) = 60.0;
  /// Task names for the segmentation, normals and depth targets; an empty
  /// name leaves that target out.
  TORCH_ARG(std::string, seg_task) = "seg";
  TORCH_ARG(std::string, normals_task) = "normals";
  TORCH_ARG(std::string, depth_task) = "depth";
};

/// Ray-cast rooms with objects; thread-safe (no state beyond the options).
class SyntheticScenes : public Dataset {
 public:
  /// Throws Error naming the option at fault when an option is out of range.
  explicit SyntheticScenes(SyntheticScenesOptions options = {});

  int64_t size() const override;
  Sample get(int64_t index) const override;
  std::vector<TaskSpec> tasks() const override;
  std::string describe() const override;

  /// "floor", "wall", then the object shapes: one name per segmentation label.
  std::vector<std::string> label_names() const;
  const SyntheticScenesOptions& options() const { return options_; }

 private:
  SyntheticScenesOptions options_;
};

}  // namespace nddr
