#pragma once

#include <torch/torch.h>

#include <memory>

#include "nddr/data/dataset.h"
#include "nddr/data/loader.h"
#include "nddr/models/multitask_net.h"
#include "nddr/tasks/metrics.h"
#include "nddr/train/execution.h"
#include "nddr/util/collective.h"

namespace nddr {

/// Metrics of every task over a whole dataset.
struct Evaluation {
  std::map<std::string, MetricValues> metrics;
  std::map<std::string, std::map<std::string, bool>> higher_is_better;
  int64_t images = 0;
  /// Images for which some task's output held a NaN or Inf: the metrics of
  /// such an evaluation are not to be trusted.
  int64_t non_finite_images = 0;
  double seconds = 0.0;
};

/// Runs `net` in inference mode over `dataset` (in order, normalised, not
/// augmented); dense outputs are upsampled bilinearly to the input size before
/// the metrics, as in the paper. The net's training flag is restored.
/// The forward pass runs on the net's device at `execution`'s precision and
/// memory format (its device field is ignored); outputs are upsampled in fp32
/// there and the metrics accumulate on the CPU, the same way on every device.
/// With a `collective` of several ranks, rank r evaluates batches r, r + W,
/// ... of the single-process order and the metric states are all-reduced, so
/// every rank returns exactly the metrics of a single-process evaluation.
Evaluation evaluate(MultiTaskNetImpl& net, std::shared_ptr<const Dataset> dataset,
                    const EvalLoaderOptions& options, const ExecutionOptions& execution = {},
                    Collective* collective = nullptr);

}  // namespace nddr
