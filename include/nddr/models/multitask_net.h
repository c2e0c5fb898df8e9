#pragma once
// A multi-task network: backbone columns + fusion between stages + one head
// per task, built from one options struct for every method of the paper.

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nddr/backbones/backbone.h"
#include "nddr/layers/fusion_layer.h"
#include "nddr/tasks/task.h"

namespace nddr {

/// How the task columns interact: `method` names an entry of the fusion-method
/// registry (nddr/models/fusion_method.h); the built-in ones are
///  - "single":        one independent column + head per task (no sharing)
///  - "split":         one shared column for stages [0, split_stage), then one
///                     column per task; split_stage == num_stages shares every
///                     conv stage and keeps only heads separate ("split fc")
///  - "cross_stitch":  a column per task, a cross-stitch unit after each fused stage
///  - "nddr":          a column per task, an NDDR layer after each fused stage
///  - "nddr_shortcut": nddr plus, per task, NDDR outputs 1..n-1 resized to the
///                     last one, concatenated with it, 1x1 conv + BN + ReLU -> head
///  - "sluice":        cross-stitch plus a learned per-task weighting of all
///                     fused stages' outputs (resized to the last) fed to the head
struct FusionOptions {
  std::string method = "nddr";
  /// Stages (0-based) after which fusion layers sit; empty = after every stage.
  /// Fusion methods only; nddr_shortcut and sluice need the last stage in it.
  std::vector<int64_t> positions;
  /// split: number of shared stages, 1..num_stages.
  int64_t split_stage = 0;
  /// Weight init for nddr/cross_stitch/sluice.
  FusionInit init = FusionInit::kDiagonal;
  double alpha = 0.9;
  double beta = 0.1;
  /// nddr: BatchNorm and ReLU after the 1x1 conv.
  bool batch_norm = true;
  bool relu = true;
  /// cross_stitch/sluice: weights per channel (else per task pair).
  bool per_channel = true;
};

/// Options of the whole network.
struct NetworkOptions {
  BackboneOptions backbone;
  std::vector<TaskSpec> tasks;
  FusionOptions fusion;
  /// Dense heads: fc6/fc7 width (1024 in the paper), dilation, dropout.
  int64_t head_hidden = 1024;
  int64_t head_dilation = 12;
  double head_dropout = 0.5;
};

/// What the optimizer does with a parameter (learning-rate multiplier and
/// weight decay are chosen per role by the trainer).
enum class ParamRole {
  kWeight,         ///< conv/linear weight of backbone or head (decayed)
  kNoDecay,        ///< BN scale/shift and biases of backbone or head
  kFusionWeight,   ///< NDDR 1x1 / cross-stitch / sluice / shortcut conv weights
  kFusionNoDecay,  ///< BN scale/shift of fusion layers and shortcut
  kLastWeight,     ///< heads' fc8 weight (x10 in the paper)
  kLastBias,       ///< heads' fc8 bias (x20 in the paper)
};

std::string to_string(ParamRole role);

/// Parameter names: "columns.<task>.*" (or "shared.*" for split's shared
/// stages), "fusion.<i>.*" for the fusion layer after the i-th fused stage,
/// "shortcut.<task>.*", "heads.<task>.*". Options are checked on construction:
/// bad values are Errors naming them.
///
///   MultiTaskNet net(options);
///   auto outputs = net->forward(images);  // outputs.at("seg"): [N,40,h,w]
class MultiTaskNetImpl : public torch::nn::Module {
 public:
  explicit MultiTaskNetImpl(NetworkOptions options);

  /// Images [N,3,H,W] -> each task's raw output keyed by task name: dense
  /// tasks give logits at the backbone's output stride [N,C,h,w]
  /// (upsample with `upsample_to`), classification tasks [N,classes].
  std::map<std::string, torch::Tensor> forward(const torch::Tensor& images);
  /// The same, and `shared_features` receives the features every task's
  /// output is computed from: split's trunk output (the representation of
  /// MGDA-UB); left undefined for the other methods.
  std::map<std::string, torch::Tensor> forward(const torch::Tensor& images,
                                               torch::Tensor* shared_features);

  const NetworkOptions& options() const { return options_; }
  const std::vector<TaskSpec>& tasks() const { return options_.tasks; }

  /// Role of a parameter, by its name in named_parameters(); BN parameters and
  /// biases are the no-decay roles. An unknown name is an Error.
  ParamRole role_of(const std::string& parameter_name) const;

  /// Parameter count per part: "backbone", "fusion", "heads" (shortcut and
  /// sluice weights count as fusion).
  std::map<std::string, int64_t> parameter_counts() const;

 private:
  NetworkOptions options_;
  std::unique_ptr<Backbone> backbone_;
  // Filled by the constructor; the modules are also registered by name.
  std::shared_ptr<ColumnImpl> shared_;
  std::vector<std::shared_ptr<ColumnImpl>> columns_;
  std::vector<torch::nn::AnyModule> fusion_;    // one per fused stage
  std::vector<int64_t> fusion_after_;           // stage index of each fusion layer
  std::vector<torch::nn::AnyModule> shortcut_;  // one per task (nddr_shortcut/sluice)
  std::vector<torch::nn::AnyModule> heads_;     // one per task
  std::map<std::string, ParamRole> roles_;      // by parameter name
};
TORCH_MODULE(MultiTaskNet);

/// Bilinear upsampling of dense logits to the input size (align_corners=false).
torch::Tensor upsample_to(const torch::Tensor& logits, int64_t height, int64_t width);

/// Names of the registered fusion methods (fusion_method_registry()), sorted.
std::vector<std::string> fusion_methods();

}  // namespace nddr
