#pragma once
// Batches for training and evaluation, prefetched by worker threads.
//
// The training loader's batch for step s is a pure function of (seed, s): the
// index stream is the concatenation of per-epoch permutations (epoch e
// permuted from (seed, e)); step s takes stream positions [s*B, (s+1)*B), and
// the augmentation of stream position p draws from a generator seeded from
// (seed, p). Resuming is constructing the loader at start_step, and batches do
// not depend on the number of workers.
//
//   nddr::TrainLoader loader(dataset, nddr::TrainLoaderOptions().batch_size(10).seed(1)
//                                         .start_step(resume_step));
//   for (int64_t step = resume_step; step < max_steps; ++step) {
//     nddr::Batch batch = loader.next();
//     ...
//   }

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "nddr/data/dataset.h"
#include "nddr/data/transforms.h"
#include "nddr/tasks/task.h"

namespace nddr {

namespace detail {
class Prefetcher;
}

struct TrainLoaderOptions {
  TORCH_ARG(int64_t, batch_size) = 1;
  /// Decides the epoch permutations and the augmentation draws.
  TORCH_ARG(uint64_t, seed) = 0;
  /// The step of the first batch next() returns.
  TORCH_ARG(int64_t, start_step) = 0;
  /// Threads loading batches ahead; 0 loads in next() itself.
  TORCH_ARG(int64_t, workers) = 2;
  /// Batches loaded ahead of the consumer, at least `workers`.
  TORCH_ARG(int64_t, prefetch) = 4;
  TORCH_ARG(AugmentOptions, augment) = {};
  TORCH_ARG(NormalizeOptions, normalize) = {};
  /// Tasks to batch, checked against the dataset's; empty: all of the dataset's.
  TORCH_ARG(std::vector<TaskSpec>, tasks) = {};
  /// Workers put batches in page-locked memory, so copies to a CUDA device
  /// can run asynchronously (needs a CUDA build).
  TORCH_ARG(bool, pin_memory) = false;
  /// Distributed training: this rank takes the shard_index-th of shard_count
  /// equal slices of each step's batch_size samples (the same samples one
  /// process would use, augmented the same way). batch_size must divide.
  TORCH_ARG(int64_t, shard_index) = 0;
  TORCH_ARG(int64_t, shard_count) = 1;
};

struct EvalLoaderOptions {
  /// Use 1 for full-resolution images of different sizes.
  TORCH_ARG(int64_t, batch_size) = 1;
  TORCH_ARG(int64_t, workers) = 2;
  TORCH_ARG(int64_t, prefetch) = 4;
  TORCH_ARG(NormalizeOptions, normalize) = {};
  TORCH_ARG(std::vector<TaskSpec>, tasks) = {};
  /// As TrainLoaderOptions::pin_memory.
  TORCH_ARG(bool, pin_memory) = false;
  /// Distributed evaluation: this loader yields batches shard_index,
  /// shard_index + shard_count, ... of the single-process batch order.
  TORCH_ARG(int64_t, shard_index) = 0;
  TORCH_ARG(int64_t, shard_count) = 1;
};

/// The tasks a loader batches: `requested` (or all of the dataset's when
/// empty), each of which the dataset must provide with the same kind and
/// channels; otherwise an Error naming the task.
std::vector<TaskSpec> resolve_loader_tasks(const Dataset& dataset,
                                           const std::vector<TaskSpec>& requested);

/// Stacks images into [N,C,H,W] and each task's targets into [N,...]
/// (segmentation int64 [N,H,W], normals float [N,3,H,W], depth float
/// [N,1,H,W], classification int64 [N]). A sample lacking a task's target gets
/// a fully invalid one. Error when the samples' sizes differ.
Batch collate(const std::vector<Sample>& samples, const std::vector<TaskSpec>& tasks);

/// The batch with every tensor in page-locked host memory.
Batch pin_batch(Batch batch);

/// The dataset indices of epoch `epoch`, a permutation of [0, size).
std::vector<int64_t> epoch_permutation(int64_t size, uint64_t seed, int64_t epoch);

/// The training batch of step `step`: what TrainLoader returns for it.
Batch load_train_batch(const Dataset& dataset, const TrainLoaderOptions& options, int64_t step);

/// Endless stream of augmented training batches, from options.start_step on.
class TrainLoader {
 public:
  /// Error when the dataset is empty or an option is out of range.
  TrainLoader(std::shared_ptr<const Dataset> dataset, TrainLoaderOptions options);
  ~TrainLoader();
  TrainLoader(const TrainLoader&) = delete;
  TrainLoader& operator=(const TrainLoader&) = delete;

  /// The batch of step(), then advances. Rethrows what loading it threw
  /// (dataset errors as Error naming the sample); the loader stays usable.
  Batch next();
  /// The step of the batch next() returns.
  int64_t step() const { return step_; }
  const std::vector<TaskSpec>& tasks() const { return options_.tasks(); }

 private:
  std::shared_ptr<const Dataset> dataset_;
  TrainLoaderOptions options_;
  int64_t step_;
  std::unique_ptr<detail::Prefetcher> prefetcher_;
};

/// One pass over a dataset in order, normalised, not augmented. Batch b holds
/// samples [b*B, min((b+1)*B, size)); a sharded loader yields only its
/// shard's batches (global_batch() says which).
class EvalLoader {
 public:
  EvalLoader(std::shared_ptr<const Dataset> dataset, EvalLoaderOptions options);
  ~EvalLoader();
  EvalLoader(const EvalLoader&) = delete;
  EvalLoader& operator=(const EvalLoader&) = delete;

  /// The next batch, or nullopt after the last. Rethrows loading errors.
  c10::optional<Batch> next();
  /// Batches this loader yields (its shard's).
  int64_t num_batches() const { return num_batches_; }
  /// Batches of the whole set, over all shards.
  int64_t total_batches() const { return total_batches_; }
  /// The position in the whole set's batch order of the batch that the
  /// (k+1)-th call to next() returned.
  int64_t global_batch(int64_t k) const {
    return options_.shard_index() + k * options_.shard_count();
  }
  const std::vector<TaskSpec>& tasks() const { return options_.tasks(); }

 private:
  std::shared_ptr<const Dataset> dataset_;
  EvalLoaderOptions options_;
  int64_t num_batches_;
  int64_t total_batches_;
  int64_t next_batch_ = 0;
  std::unique_ptr<detail::Prefetcher> prefetcher_;
};

}  // namespace nddr
