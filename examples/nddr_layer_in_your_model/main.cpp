// Two small task columns of your own (a "seg" and a "depth" column) fused by
// one NDDR layer after their first block, trained for a few SGD steps on a
// toy target. Only the layer comes from nddr; the model is plain LibTorch.

#include <nddr/nddr.h>
#include <torch/torch.h>

#include <iostream>

namespace {

torch::nn::Sequential block(int64_t in, int64_t out) {
  return torch::nn::Sequential(
      torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false)),
      torch::nn::BatchNorm2d(out), torch::nn::ReLU());
}

struct TwoTaskModelImpl : torch::nn::Module {
  TwoTaskModelImpl()
      : seg_stem(register_module("seg_stem", block(3, 16))),
        depth_stem(register_module("depth_stem", block(3, 16))),
        // The paper's diagonal init: 0.9 on a task's own features, 0.1 on the other's.
        fusion(register_module("fusion", nddr::NddrLayer(nddr::NddrLayerOptions(2, 16)))),
        seg_head(register_module("seg_head", torch::nn::Conv2d(16, 5, 1))),
        depth_head(register_module("depth_head", torch::nn::Conv2d(16, 1, 1))) {}

  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& images) {
    auto fused = fusion->forward({seg_stem->forward(images), depth_stem->forward(images)});
    return {seg_head(fused[0]), depth_head(fused[1])};
  }

  torch::nn::Sequential seg_stem, depth_stem;
  nddr::NddrLayer fusion;
  torch::nn::Conv2d seg_head, depth_head;
};
TORCH_MODULE(TwoTaskModel);

}  // namespace

int main() {
  torch::manual_seed(0);
  TwoTaskModel model;
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  const torch::Tensor images = torch::randn({4, 3, 16, 16});
  const torch::Tensor labels = (images.select(1, 0) > 0).to(torch::kLong);  // toy targets
  const torch::Tensor depth = images.select(1, 1).unsqueeze(1).abs();

  double first = 0.0, last = 0.0;
  for (int step = 0; step < 20; ++step) {
    auto [seg, predicted_depth] = model->forward(images);
    const torch::Tensor loss = torch::nn::functional::cross_entropy(seg, labels) +
                               torch::nn::functional::l1_loss(predicted_depth, depth);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  std::cout << "NDDR layer: " << model->fusion->conv[0]->as<torch::nn::Conv2d>()->weight.sizes()
            << " per task; loss " << first << " -> " << last << "\n";
  return last < first ? 0 : 1;
}
