// The best score any network can reach on the synthetic scenes when its
// logits are `size / stride` pixels across: the ground truth itself, brought
// to the logit grid the way training sees it (nearest) and back to full size
// the way evaluation does (bilinear), scored by the evaluation's metrics.
// A benchmark whose ceiling sits near what every method already scores cannot
// reward better features (docs/RESULTS.md).
//   build/bench/resolution_ceiling [count]
#include <torch/torch.h>

#include <cstdio>
#include <string>

#include "nddr/data/synthetic_scenes.h"
#include "nddr/models/multitask_net.h"
#include "nddr/tasks/losses.h"
#include "nddr/tasks/metrics.h"

namespace {

// The test split of the synthetic benchmarks (configs/experiments/synthetic-*).
constexpr uint64_t kTestSeed = 2;
constexpr int64_t kClasses = 4;

void report(int64_t size, int64_t stride, int64_t count) {
  using namespace nddr;
  SyntheticScenes scenes(
      SyntheticScenesOptions().height(size).width(size).count(count).seed(kTestSeed).classes(
          kClasses));
  const auto tasks = scenes.tasks();
  const TaskSpec& seg = tasks.at(0);
  const TaskSpec& normals = tasks.at(1);
  auto seg_metric = make_metric(seg);
  auto normals_metric = make_metric(normals);
  const int64_t logits = (size + stride - 1) / stride;
  for (int64_t i = 0; i < count; ++i) {
    const Sample sample = scenes.get(i);
    const auto labels = sample.targets.at(seg.name).unsqueeze(0);
    const auto one_hot = torch::nn::functional::one_hot(labels, seg.channels)
                             .permute({0, 3, 1, 2})
                             .to(torch::kFloat);
    const auto coarse_seg = resize_target_nearest(one_hot, seg.kind, logits, logits);
    seg_metric->add(upsample_to(coarse_seg, size, size), labels);
    const auto truth = sample.targets.at(normals.name).unsqueeze(0);
    const auto coarse_normals = resize_target_nearest(truth, normals.kind, logits, logits);
    normals_metric->add(upsample_to(coarse_normals, size, size), truth);
  }
  const auto s = seg_metric->compute();
  const auto n = normals_metric->compute();
  std::printf(
      "| %3lldx%-3lld | %6lld | %4lldx%-4lld | %7.3f | %9.3f | %12.2f | %14.2f | %19.2f |\n",
      static_cast<long long>(size), static_cast<long long>(size), static_cast<long long>(stride),
      static_cast<long long>(logits), static_cast<long long>(logits), s.at("miou"),
      s.at("pixel_acc"), n.at("mean"), n.at("median"), n.at("within_22.5"));
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t count = argc > 1 ? std::stoll(argv[1]) : 300;
  std::printf("Ceiling on %lld synthetic test scenes (seed %llu, %lld object classes)\n\n",
              static_cast<long long>(count), static_cast<unsigned long long>(kTestSeed),
              static_cast<long long>(kClasses));
  std::printf(
      "| input   | stride | logits    | miou    | pixel_acc | normals mean | normals median | "
      "normals within_22.5 |\n");
  std::printf(
      "| ------- | -----: | --------- | ------: | --------: | -----------: | -------------: | "
      "------------------: |\n");
  for (int64_t size : {32, 64}) {
    for (int64_t stride : {8, 4, 2}) report(size, stride, count);
  }
  return 0;
}
