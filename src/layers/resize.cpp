#include "nddr/layers/resize.h"

#include "nddr/compat.h"

namespace nddr {

torch::Tensor resize_bilinear_like(const torch::Tensor& map, const torch::Tensor& reference,
                                   bool align_corners) {
  TORCH_CHECK(map.dim() == 4 && reference.dim() == 4,
              "resize_bilinear_like expects maps [N,C,H,W], got ", map.sizes(), " and ",
              reference.sizes());
  // The op's argument is named "output_size" in its schema (both LibTorch versions).
  compat::trace_sizes_as_argument(reference, {2, 3}, "output_size");
  return torch::upsample_bilinear2d(map, {reference.size(2), reference.size(3)}, align_corners);
}

std::vector<torch::Tensor> resize_to_last_stage(const std::vector<torch::Tensor>& stages,
                                                bool align_corners) {
  std::vector<torch::Tensor> resized;
  for (const auto& map : stages) {
    resized.push_back(map.sizes().slice(2) == stages.back().sizes().slice(2)
                          ? map
                          : resize_bilinear_like(map, stages.back(), align_corners));
  }
  return resized;
}

}  // namespace nddr
