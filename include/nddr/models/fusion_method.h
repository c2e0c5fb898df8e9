#pragma once
// The fusion-method registry: what network.fusion names. Each entry says how
// the task columns interact and builds its layers, so that MultiTaskNet has no
// per-method code; adding a method is one entry in src/models/fusion_method.cpp
// (walkthrough: docs/architecture.md).

#include <torch/torch.h>

#include <functional>
#include <string>

#include "nddr/models/multitask_net.h"
#include "nddr/models/shortcut.h"
#include "nddr/util/registry.h"

namespace nddr {

struct FusionMethod {
  /// Stages [0, n) shared by all tasks before their own columns start
  /// (split: fusion.split_stage, checked against num_stages); 0 for the rest.
  std::function<int64_t(const FusionOptions& fusion, int64_t num_stages,
                        const std::string& backbone)>
      shared_stages = [](const FusionOptions&, int64_t, const std::string&) { return 0; };
  /// Whether a fusion layer follows each stage in fusion.positions; such a
  /// method needs two or more tasks.
  bool fuses = false;
  /// Whether each task's head reads every fused stage's output through a
  /// merge unit (make_merge) instead of the last stage's alone; fusion.positions
  /// must then include the last stage.
  bool merges_stages = false;
  /// The layer after a fused stage of `channels` channels (fuses only).
  std::function<torch::nn::AnyModule(const FusionOptions& fusion, int64_t num_tasks,
                                     int64_t channels)>
      make_layer;
  /// One task's merge unit (merges_stages only).
  std::function<torch::nn::AnyModule(const StageMergeOptions& merge)> make_merge;
};

/// The registry with the built-in methods (single, split, cross_stitch, nddr,
/// nddr_shortcut, sluice; see FusionOptions); an unknown name is an Error
/// listing the valid ones and the closest.
Registry<FusionMethod>& fusion_method_registry();

}  // namespace nddr
