#pragma once
// A backbone is an ordered list of stages with known output channels and
// stride. A multi-task network builds one "column" per task (or one shared
// column for the first stages) from it; fusion layers sit between stages.

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nddr/util/registry.h"

namespace nddr {

/// Output of one stage.
struct StageInfo {
  std::string name;      ///< e.g. "pool1", "layer3"
  int64_t channels = 0;  ///< output channels
  int64_t stride = 1;    ///< cumulative stride with respect to the input
};

/// The stages [first, end) of a backbone as one module. Parameter names follow
/// torchvision (VGG: "features.<i>.*", ResNet: "conv1", "bn1", "layer<k>.*"),
/// so a torchvision state_dict maps onto a full column by name.
class ColumnImpl : public torch::nn::Module {
 public:
  ColumnImpl(int64_t first, int64_t end) : first_(first), end_(end) {}

  /// Runs stage `index`, which must lie in [first_stage(), end_stage()).
  virtual torch::Tensor forward_stage(int64_t index, torch::Tensor x) = 0;

  /// Runs all stages of this column in order.
  torch::Tensor forward(torch::Tensor x) {
    for (int64_t i = first_; i < end_; ++i) x = forward_stage(i, std::move(x));
    return x;
  }

  int64_t first_stage() const { return first_; }
  int64_t end_stage() const { return end_; }

 protected:
  int64_t first_;
  int64_t end_;
};

/// Options shared by every backbone.
struct BackboneOptions {
  std::string name = "vgg16_largefov";  ///< registry key
  double width = 1.0;                   ///< channel multiplier (CPU-sized runs use < 1)
  int64_t output_stride = 8;            ///< ResNet: 8 or 16; VGG LargeFOV: 8, 4 or 2
  int64_t in_channels = 3;
};

/// Describes a backbone and builds columns of it.
class Backbone {
 public:
  virtual ~Backbone() = default;
  virtual const std::vector<StageInfo>& stages() const = 0;
  /// A column holding stages [first, end) with freshly initialised weights.
  virtual std::shared_ptr<ColumnImpl> make_column(int64_t first, int64_t end) const = 0;
  int64_t num_stages() const { return static_cast<int64_t>(stages().size()); }
};

using BackboneFactory = std::function<std::unique_ptr<Backbone>(const BackboneOptions&)>;

/// Registry of backbones: "vgg16_largefov", "resnet18", "resnet34", "resnet50", "resnet101".
Registry<BackboneFactory>& backbone_registry();

/// Builds the backbone named in `options`; unknown names and bad options are Errors.
std::unique_ptr<Backbone> make_backbone(const BackboneOptions& options);

/// `channels` times the width multiplier, rounded, at least 1.
int64_t scale_channels(int64_t channels, double width);

}  // namespace nddr
