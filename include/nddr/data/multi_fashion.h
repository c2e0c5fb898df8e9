#pragma once
// Multi-Fashion: MultiMNIST built from Fashion-MNIST. Each sample overlays two
// 28x28 items on a 36x36 canvas, the first at a row and column offset of 0-3
// pixels (top-left), the second at 5-8 (bottom-right), overlapping pixels
// taking the maximum. Task "left" is the first item's class, "right" the
// second's.
//
//   nddr::MultiFashion train(nddr::MultiFashionOptions().split("train").seed(1));
//   nddr::Sample s = train.get(0);  // image [3,36,36]; targets "left", "right"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nddr/data/dataset.h"

namespace nddr {

struct MultiFashionOptions {
  /// Folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.
  TORCH_ARG(std::string, root) = "/usr/share/datasets/fashion-mnist";
  /// "train" (the train files) or "test" (the t10k files).
  TORCH_ARG(std::string, split) = "train";
  /// Number of samples; 0 means one per image of the split.
  TORCH_ARG(int64_t, count) = 0;
  /// Decides which items are paired and how far each is shifted.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Task names of the first (top-left) and second (bottom-right) item.
  TORCH_ARG(std::string, left_task) = "left";
  TORCH_ARG(std::string, right_task) = "right";
};

/// Side of the square canvas two 28x28 items are overlaid on.
constexpr int64_t kMultiFashionSize = 36;

/// Reads the split's idx files once (Error naming the file when one is
/// missing, truncated or malformed); get() then composes samples on the fly
/// and is thread-safe. Targets are int64 scalars in [0, 10).
class MultiFashion : public Dataset {
 public:
  explicit MultiFashion(MultiFashionOptions options = {});

  int64_t size() const override;
  Sample get(int64_t index) const override;
  std::vector<TaskSpec> tasks() const override;
  std::string describe() const override;

  /// The ten Fashion-MNIST class names, in label order.
  static const std::vector<std::string>& class_names();
  /// Number of items (images) in the loaded split.
  int64_t num_items() const { return static_cast<int64_t>(labels_.size()); }
  const MultiFashionOptions& options() const { return options_; }

 private:
  MultiFashionOptions options_;
  std::vector<uint8_t> pixels_;  // num_items x 28 x 28
  std::vector<uint8_t> labels_;
  std::vector<int64_t> order_;  // seeded permutation: sample i's first item is order_[i % N]
};

}  // namespace nddr
