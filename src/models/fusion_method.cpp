#include "nddr/models/fusion_method.h"

#include "nddr/layers/cross_stitch.h"
#include "nddr/layers/nddr_layer.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

int64_t split_stages(const FusionOptions& fusion, int64_t num_stages, const std::string& backbone) {
  if (fusion.split_stage < 1 || fusion.split_stage > num_stages) {
    throw Error("fusion.split_stage must be in [1, " + std::to_string(num_stages) +
                "] for backbone '" + backbone + "', got " + std::to_string(fusion.split_stage));
  }
  return fusion.split_stage;
}

torch::nn::AnyModule make_cross_stitch(const FusionOptions& fusion, int64_t num_tasks,
                                       int64_t channels) {
  return torch::nn::AnyModule(CrossStitch(CrossStitchOptions(num_tasks, channels)
                                              .per_channel(fusion.per_channel)
                                              .init(fusion.init)
                                              .alpha(fusion.alpha)
                                              .beta(fusion.beta)));
}

torch::nn::AnyModule make_nddr(const FusionOptions& fusion, int64_t num_tasks, int64_t channels) {
  return torch::nn::AnyModule(NddrLayer(NddrLayerOptions(num_tasks, channels)
                                            .init(fusion.init)
                                            .alpha(fusion.alpha)
                                            .beta(fusion.beta)
                                            .batch_norm(fusion.batch_norm)
                                            .relu(fusion.relu)));
}

FusionMethod fusing(decltype(FusionMethod::make_layer) make_layer,
                    decltype(FusionMethod::make_merge) make_merge = nullptr) {
  FusionMethod method;
  method.fuses = true;
  method.merges_stages = static_cast<bool>(make_merge);
  method.make_layer = std::move(make_layer);
  method.make_merge = std::move(make_merge);
  return method;
}

}  // namespace

Registry<FusionMethod>& fusion_method_registry() {
  static Registry<FusionMethod> registry = [] {
    Registry<FusionMethod> builtin("fusion method");
    builtin.add("single", FusionMethod{});
    FusionMethod split;
    split.shared_stages = split_stages;
    builtin.add("split", split);
    builtin.add("cross_stitch", fusing(make_cross_stitch));
    builtin.add("nddr", fusing(make_nddr));
    builtin.add("nddr_shortcut", fusing(make_nddr, [](const StageMergeOptions& merge) {
                  return torch::nn::AnyModule(NddrShortcut(merge));
                }));
    builtin.add("sluice", fusing(make_cross_stitch, [](const StageMergeOptions& merge) {
                  return torch::nn::AnyModule(SluiceOutput(merge));
                }));
    return builtin;
  }();
  return registry;
}

std::vector<std::string> fusion_methods() { return fusion_method_registry().names(); }

}  // namespace nddr
