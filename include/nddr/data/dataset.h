#pragma once
// Datasets yield one image and one target per task. Images are float RGB
// [3,H,W] in [0,1]; targets follow their kind's layout (TaskKindTraits in
// tasks/task_kind.h). A sample may lack a task's target: the loss and metrics
// then skip it.

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nddr/tasks/task.h"

namespace nddr {

struct Sample {
  torch::Tensor image;                           ///< float [3,H,W], RGB in [0,1]
  std::map<std::string, torch::Tensor> targets;  ///< by task name
};

/// A batch: images [N,3,H,W] (normalised) and targets stacked per task.
/// A task whose target is missing in some samples gets a fully-invalid target
/// there (ignore label / zero vector / zero depth / class -1).
struct Batch {
  torch::Tensor images;
  std::map<std::string, torch::Tensor> targets;
};

/// Random access to samples. `get` is called concurrently from loader
/// workers, so implementations must be safe to call from several threads.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Sample get(int64_t index) const = 0;
  /// The tasks this dataset has targets for (name, kind, channels).
  virtual std::vector<TaskSpec> tasks() const = 0;
  /// One line for logs: what, where, how many.
  virtual std::string describe() const = 0;
};

}  // namespace nddr
