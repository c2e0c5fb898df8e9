#include "load_error.h"
#include "nddr/data/loader.h"
#include "nddr/util/error.h"
#include "nddr/util/random.h"
#include "prefetcher.h"

namespace nddr {

namespace {

// Independent generator streams under one seed.
constexpr uint64_t kPermutationStream = 1;
constexpr uint64_t kAugmentStream = 2;

void validate(const TrainLoaderOptions& options) {
  if (options.batch_size() < 1) {
    throw Error("train loader: batch_size must be >= 1, got " +
                std::to_string(options.batch_size()));
  }
  if (options.start_step() < 0) {
    throw Error("train loader: start_step must be >= 0, got " +
                std::to_string(options.start_step()));
  }
  if (options.workers() < 0 || options.prefetch() < 1) {
    throw Error("train loader: need workers >= 0 and prefetch >= 1, got workers " +
                std::to_string(options.workers()) + " and prefetch " +
                std::to_string(options.prefetch()));
  }
  if (options.shard_count() < 1 || options.shard_index() < 0 ||
      options.shard_index() >= options.shard_count()) {
    throw Error("train loader: shard " + std::to_string(options.shard_index()) + " of " +
                std::to_string(options.shard_count()) + " does not exist");
  }
  if (options.batch_size() % options.shard_count() != 0) {
    throw Error("train.batch_size " + std::to_string(options.batch_size()) +
                " (the global batch) does not divide into " +
                std::to_string(options.shard_count()) + " ranks");
  }
  validate(options.augment());
  validate(options.normalize());
}

}  // namespace

std::vector<int64_t> epoch_permutation(int64_t size, uint64_t seed, int64_t epoch) {
  TORCH_CHECK(size >= 0 && epoch >= 0, "epoch_permutation: size ", size, ", epoch ", epoch);
  std::vector<int64_t> order(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) order[i] = i;
  std::mt19937_64 rng(detail::mix_seed(seed, kPermutationStream, static_cast<uint64_t>(epoch)));
  // Fisher-Yates with portable draws: std::shuffle's algorithm is unspecified.
  for (int64_t i = size - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(detail::uniform_below(rng, static_cast<uint64_t>(i + 1)));
    std::swap(order[i], order[j]);
  }
  return order;
}

Batch load_train_batch(const Dataset& dataset, const TrainLoaderOptions& options, int64_t step) {
  const int64_t size = dataset.size();
  const int64_t batch_size = options.batch_size();
  TORCH_CHECK(size > 0 && batch_size > 0 && step >= 0, "load_train_batch: size ", size,
              ", batch_size ", batch_size, ", step ", step);
  const auto tasks = resolve_loader_tasks(dataset, options.tasks());
  TORCH_CHECK(batch_size % options.shard_count() == 0, "load_train_batch: batch_size ", batch_size,
              " over ", options.shard_count(), " shards");
  const int64_t shard_size = batch_size / options.shard_count();
  const int64_t first = step * batch_size + options.shard_index() * shard_size;
  std::vector<Sample> samples;
  int64_t epoch = -1;
  std::vector<int64_t> order;
  for (int64_t position = first; position < first + shard_size; ++position) {
    if (position / size != epoch) {
      epoch = position / size;
      order = epoch_permutation(size, options.seed(), epoch);
    }
    const int64_t index = order[position % size];
    Sample sample;
    try {
      sample = dataset.get(index);
    } catch (const std::exception& error) {
      throw detail::sample_error(dataset, index, error);
    }
    sample.image = normalize(sample.image, options.normalize());
    std::mt19937_64 rng(detail::mix_seed(options.seed(), kAugmentStream, position));
    samples.push_back(augment(std::move(sample), options.augment(), rng, tasks));
  }
  return collate(samples, tasks);
}

Batch pin_batch(Batch batch) {
  batch.images = batch.images.pin_memory();
  for (auto& item : batch.targets) item.second = item.second.pin_memory();
  return batch;
}

TrainLoader::TrainLoader(std::shared_ptr<const Dataset> dataset, TrainLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)), step_(options_.start_step()) {
  TORCH_CHECK(dataset_, "TrainLoader: null dataset");
  validate(options_);
  if (dataset_->size() < 1)
    throw Error("train loader: dataset " + dataset_->describe() + " is empty");
  options_.tasks(resolve_loader_tasks(*dataset_, options_.tasks()));
  // The workers share copies of the dataset pointer and options, not `this`.
  auto produce = [dataset = dataset_, options = options_](int64_t step) {
    Batch batch = load_train_batch(*dataset, options, step);
    return options.pin_memory() ? pin_batch(std::move(batch)) : batch;
  };
  prefetcher_ = std::make_unique<detail::Prefetcher>(produce, step_, -1, options_.workers(),
                                                     options_.prefetch());
}

TrainLoader::~TrainLoader() = default;

Batch TrainLoader::next() {
  ++step_;
  return prefetcher_->next();
}

}  // namespace nddr
