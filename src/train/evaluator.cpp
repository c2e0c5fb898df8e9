#include "nddr/train/evaluator.h"

#include <chrono>

namespace nddr {

namespace {

// Merges the shards' metric states: counts add up; each batch's row of
// partial sums goes to its place in the single-process batch order, where
// every other rank holds zeros, so the all-reduced rows are exact copies.
void merge_over_ranks(MetricAccumulator& accumulator, const EvalLoader& loader,
                      Collective& collective, const std::string& task) {
  MetricState state = accumulator.state();
  torch::Tensor counts = state.counts.clone();
  collective.all_reduce_sum(counts, "evaluation metric counts of task '" + task + "'");
  torch::Tensor rows =
      torch::zeros({loader.total_batches(), state.partials.size(1)}, torch::kDouble);
  for (int64_t k = 0; k < state.partials.size(0); ++k) {
    rows[loader.global_batch(k)].copy_(state.partials[k]);
  }
  if (rows.numel() > 0) {
    collective.all_reduce_sum(rows, "evaluation partial sums of task '" + task + "'");
  }
  accumulator.set_state({counts, rows});
}

}  // namespace

Evaluation evaluate(MultiTaskNetImpl& net, std::shared_ptr<const Dataset> dataset,
                    const EvalLoaderOptions& options, const ExecutionOptions& execution,
                    Collective* collective) {
  if (collective != nullptr && collective->world_size() == 1) collective = nullptr;
  const auto start = std::chrono::steady_clock::now();
  const ExecutionOptions run = ExecutionOptions(execution).device(device_of(net));
  EvalLoaderOptions loader_options = options;
  loader_options.tasks(net.tasks()).pin_memory(run.device().is_cuda());
  if (collective != nullptr) {
    loader_options.shard_index(collective->rank()).shard_count(collective->world_size());
  }
  EvalLoader loader(std::move(dataset), loader_options);

  std::map<std::string, std::unique_ptr<MetricAccumulator>> accumulators;
  for (const auto& task : net.tasks()) accumulators[task.name] = make_metric(task);

  const bool was_training = net.is_training();
  net.eval();
  torch::NoGradGuard no_grad;
  Evaluation evaluation;
  while (auto batch = loader.next()) {
    const torch::Tensor images = to_device(Batch{batch->images, {}}, run).images;
    std::map<std::string, torch::Tensor> outputs;
    {
      const PrecisionScope precision(run);
      outputs = net.forward(images);
    }
    torch::Tensor non_finite = torch::zeros({batch->images.size(0)}, torch::kBool);
    for (const auto& task : net.tasks()) {
      torch::Tensor output = outputs.at(task.name).to(torch::kFloat);
      non_finite |= (~torch::isfinite(output)).flatten(1).any(1).to(torch::kCPU);
      if (is_dense(task.kind)) output = upsample_to(output, images.size(2), images.size(3));
      accumulators.at(task.name)->add(output.to(torch::kCPU).contiguous(),
                                      batch->targets.at(task.name));
    }
    evaluation.images += batch->images.size(0);
    evaluation.non_finite_images += non_finite.sum().item<int64_t>();
  }
  net.train(was_training);
  if (collective != nullptr) {
    for (const auto& task : net.tasks()) {
      merge_over_ranks(*accumulators.at(task.name), loader, *collective, task.name);
    }
    torch::Tensor images = torch::tensor({evaluation.images}, torch::kLong);
    collective->all_reduce_sum(images, "evaluation image count");
    evaluation.images = images.item<int64_t>();
  }

  for (const auto& task : net.tasks()) {
    evaluation.metrics[task.name] = accumulators.at(task.name)->compute();
    evaluation.higher_is_better[task.name] = accumulators.at(task.name)->higher_is_better();
  }
  evaluation.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return evaluation;
}

}  // namespace nddr
