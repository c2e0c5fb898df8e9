#include <algorithm>

#include "nddr/data/loader.h"
#include "nddr/tasks/task_kind.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

std::string describe_task(const TaskSpec& task) {
  return to_string(task.kind) + " with " + std::to_string(task.channels) + " channels";
}

// The target layout of the task's kind for an image [C,H,W].
std::vector<int64_t> target_shape(const TaskSpec& task, const torch::Tensor& image) {
  return task.kind->target_shape(image.size(-2), image.size(-1));
}

// Every pixel (or the image's class) marked invalid.
torch::Tensor invalid_target(const TaskSpec& task, const torch::Tensor& image) {
  return torch::full(target_shape(task, image), task.kind->invalid_value, task.kind->target_dtype);
}

}  // namespace

std::vector<TaskSpec> resolve_loader_tasks(const Dataset& dataset,
                                           const std::vector<TaskSpec>& requested) {
  const auto available = dataset.tasks();
  if (requested.empty()) return available;
  std::vector<std::string> names;
  for (const auto& task : available) names.push_back(task.name);
  for (const auto& task : requested) {
    auto it = std::find_if(available.begin(), available.end(),
                           [&](const TaskSpec& other) { return other.name == task.name; });
    if (it == available.end()) {
      throw Error("task '" + task.name + "' has no targets in dataset " + dataset.describe() +
                  did_you_mean(task.name, names) + "; it has: " + join(names, ", "));
    }
    if (it->kind != task.kind || it->channels != task.channels) {
      throw Error("task '" + task.name + "' is " + describe_task(task) + ", but dataset " +
                  dataset.describe() + " gives " + describe_task(*it));
    }
  }
  return requested;
}

Batch collate(const std::vector<Sample>& samples, const std::vector<TaskSpec>& tasks) {
  TORCH_CHECK(!samples.empty(), "collate: no samples");
  const auto image_size = samples.front().image.sizes().vec();
  std::vector<torch::Tensor> images;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].image.sizes().vec() != image_size) {
      throw Error("cannot batch images of different sizes: " + c10::str(samples[i].image.sizes()) +
                  " vs " + c10::str(samples.front().image.sizes()) +
                  "; crop them (crop_height, crop_width) or use batch size 1");
    }
    images.push_back(samples[i].image);
  }
  Batch batch;
  batch.images = torch::stack(images);
  for (const auto& task : tasks) {
    std::vector<torch::Tensor> targets;
    for (const auto& sample : samples) {
      auto it = sample.targets.find(task.name);
      auto target = it == sample.targets.end() ? invalid_target(task, sample.image)
                                               : it->second.to(task.kind->target_dtype);
      const auto expected = target_shape(task, sample.image);
      if (target.sizes().vec() != expected) {
        throw Error("target '" + task.name + "' has shape " + c10::str(target.sizes()) +
                    ", expected " + c10::str(c10::IntArrayRef(expected)) +
                    " for an image of shape " + c10::str(sample.image.sizes()));
      }
      targets.push_back(target);
    }
    batch.targets[task.name] = torch::stack(targets);
  }
  return batch;
}

}  // namespace nddr
