#include <algorithm>

#include "load_error.h"
#include "nddr/data/loader.h"
#include "nddr/util/error.h"
#include "prefetcher.h"

namespace nddr {

namespace {

void validate(const EvalLoaderOptions& options) {
  if (options.batch_size() < 1) {
    throw Error("eval loader: batch_size must be >= 1, got " +
                std::to_string(options.batch_size()));
  }
  if (options.workers() < 0 || options.prefetch() < 1) {
    throw Error("eval loader: need workers >= 0 and prefetch >= 1, got workers " +
                std::to_string(options.workers()) + " and prefetch " +
                std::to_string(options.prefetch()));
  }
  if (options.shard_count() < 1 || options.shard_index() < 0 ||
      options.shard_index() >= options.shard_count()) {
    throw Error("eval loader: shard " + std::to_string(options.shard_index()) + " of " +
                std::to_string(options.shard_count()) + " does not exist");
  }
  validate(options.normalize());
}

Batch load_eval_batch(const Dataset& dataset, const EvalLoaderOptions& options, int64_t number) {
  const int64_t first = number * options.batch_size();
  const int64_t end = std::min(first + options.batch_size(), dataset.size());
  std::vector<Sample> samples;
  for (int64_t index = first; index < end; ++index) {
    Sample sample;
    try {
      sample = dataset.get(index);
    } catch (const std::exception& error) {
      throw detail::sample_error(dataset, index, error);
    }
    sample.image = normalize(sample.image, options.normalize());
    samples.push_back(std::move(sample));
  }
  return collate(samples, options.tasks());
}

}  // namespace

EvalLoader::EvalLoader(std::shared_ptr<const Dataset> dataset, EvalLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  TORCH_CHECK(dataset_, "EvalLoader: null dataset");
  validate(options_);
  options_.tasks(resolve_loader_tasks(*dataset_, options_.tasks()));
  total_batches_ = (dataset_->size() + options_.batch_size() - 1) / options_.batch_size();
  const int64_t shards = options_.shard_count();
  const int64_t index = options_.shard_index();
  num_batches_ = total_batches_ > index ? (total_batches_ - index + shards - 1) / shards : 0;
  auto produce = [dataset = dataset_, options = options_](int64_t number) {
    Batch batch =
        load_eval_batch(*dataset, options, options.shard_index() + number * options.shard_count());
    return options.pin_memory() ? pin_batch(std::move(batch)) : batch;
  };
  prefetcher_ = std::make_unique<detail::Prefetcher>(produce, 0, num_batches_, options_.workers(),
                                                     options_.prefetch());
}

EvalLoader::~EvalLoader() = default;

c10::optional<Batch> EvalLoader::next() {
  if (next_batch_ >= num_batches_) return c10::nullopt;
  ++next_batch_;
  return prefetcher_->next();
}

}  // namespace nddr
