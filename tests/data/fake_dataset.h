#pragma once
// An in-memory dataset whose sample i is recognisable: image filled with i,
// classification target i, a segmentation map of i % 4 and (i + 1) % 4 halves.

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "nddr/data/dataset.h"

namespace nddr::testing {

class FakeDataset : public Dataset {
 public:
  FakeDataset(int64_t count, int64_t height, int64_t width)
      : count_(count), height_(height), width_(width) {}

  /// Called before building sample i; may throw to simulate a broken file.
  std::function<void(int64_t)> before_get;
  /// Samples whose index satisfies this lack their "seg" target.
  std::function<bool(int64_t)> lacks_seg = [](int64_t) { return false; };

  int64_t size() const override { return count_; }

  Sample get(int64_t index) const override {
    if (before_get) before_get(index);
    Sample sample;
    sample.image = torch::full({3, height_, width_}, static_cast<float>(index) / count_);
    sample.targets["cls"] = torch::tensor(index);
    if (!lacks_seg(index)) {
      auto seg = torch::full({height_, width_}, index % 4, torch::kLong);
      seg.narrow(1, 0, width_ / 2).fill_((index + 1) % 4);
      sample.targets["seg"] = seg;
    }
    return sample;
  }

  std::vector<TaskSpec> tasks() const override {
    return {{"cls", "classification", count_, 1.0}, {"seg", "segmentation", 4, 1.0}};
  }

  std::string describe() const override { return "fake(" + std::to_string(count_) + ")"; }

 private:
  int64_t count_;
  int64_t height_;
  int64_t width_;
};

}  // namespace nddr::testing
