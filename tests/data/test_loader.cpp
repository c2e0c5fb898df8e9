#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <memory>
#include <set>
#include <stdexcept>

#include "data/fake_dataset.h"
#include "nddr/data/loader.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

using testing::FakeDataset;

TrainLoaderOptions augmenting_options() {
  return TrainLoaderOptions()
      .batch_size(4)
      .seed(11)
      .augment(
          AugmentOptions().scale_min(0.5).scale_max(1.5).flip(true).crop_height(5).crop_width(6))
      .normalize(NormalizeOptions().mode("bgr_mean"));
}

void expect_same_batch(const Batch& a, const Batch& b) {
  EXPECT_TRUE(torch::equal(a.images, b.images));
  ASSERT_EQ(a.targets.size(), b.targets.size());
  for (const auto& [name, target] : a.targets) {
    EXPECT_TRUE(torch::equal(target, b.targets.at(name))) << name;
  }
}

std::vector<int64_t> classes(const Batch& batch) {
  const auto cls = batch.targets.at("cls");
  return std::vector<int64_t>(cls.data_ptr<int64_t>(), cls.data_ptr<int64_t>() + cls.numel());
}

TEST(TrainLoader, BatchesDoNotDependOnWorkerCount) {
  auto dataset = std::make_shared<FakeDataset>(10, 7, 9);
  TrainLoader one(dataset, augmenting_options().workers(1));
  TrainLoader three(dataset, augmenting_options().workers(3).prefetch(2));
  TrainLoader inline_loader(dataset, augmenting_options().workers(0));
  for (int64_t step = 0; step < 6; ++step) {
    const auto a = one.next();
    const auto b = three.next();
    const auto c = inline_loader.next();
    ASSERT_EQ(a.images.sizes(), (std::vector<int64_t>{4, 3, 5, 6}));
    expect_same_batch(a, b);
    expect_same_batch(a, c);
    expect_same_batch(a, load_train_batch(*dataset, augmenting_options(), step));
  }
}

TEST(TrainLoader, ResumeAtStepGivesTheSameBatches) {
  auto dataset = std::make_shared<FakeDataset>(10, 7, 9);
  TrainLoader fresh(dataset, augmenting_options());
  std::vector<Batch> batches;
  for (int i = 0; i < 5; ++i) batches.push_back(fresh.next());
  TrainLoader resumed(dataset, augmenting_options().start_step(3));
  EXPECT_EQ(resumed.step(), 3);
  expect_same_batch(resumed.next(), batches[3]);
  expect_same_batch(resumed.next(), batches[4]);
  EXPECT_EQ(resumed.step(), 5);
}

TEST(TrainLoader, SeedChangesTheBatches) {
  auto dataset = std::make_shared<FakeDataset>(10, 7, 9);
  const auto a = load_train_batch(*dataset, augmenting_options(), 0);
  const auto b = load_train_batch(*dataset, augmenting_options().seed(12), 0);
  EXPECT_FALSE(torch::equal(a.images, b.images));
}

TEST(TrainLoader, EachSampleOncePerEpoch) {
  auto dataset = std::make_shared<FakeDataset>(12, 4, 4);
  TrainLoader loader(dataset, TrainLoaderOptions().batch_size(4).seed(5));
  std::vector<std::vector<int64_t>> epochs(3);
  for (auto& epoch : epochs) {
    for (int step = 0; step < 3; ++step) {
      const auto batch = loader.next();
      const auto cls = classes(batch);
      epoch.insert(epoch.end(), cls.begin(), cls.end());
      // Images and targets stay paired: image of sample i is filled with i / 12.
      for (size_t k = 0; k < cls.size(); ++k) {
        EXPECT_FLOAT_EQ(batch.images[k][0][0][0].item<float>(), cls[k] / 12.0f);
      }
    }
    EXPECT_EQ(std::set<int64_t>(epoch.begin(), epoch.end()).size(), 12u);
  }
  EXPECT_NE(epochs[0], epochs[1]);
  EXPECT_NE(epochs[1], epochs[2]);
}

TEST(TrainLoader, BatchesStraddleEpochBoundaries) {
  // 5 samples, batch 2: step 2 takes the last of epoch 0 and the first of epoch 1.
  const auto epoch0 = epoch_permutation(5, 3, 0);
  const auto epoch1 = epoch_permutation(5, 3, 1);
  FakeDataset dataset(5, 2, 2);
  const auto batch = load_train_batch(dataset, TrainLoaderOptions().batch_size(2).seed(3), 2);
  EXPECT_EQ(classes(batch), (std::vector<int64_t>{epoch0[4], epoch1[0]}));
}

TEST(TrainLoader, WorkerExceptionIsRethrownAsError) {
  auto dataset = std::make_shared<FakeDataset>(8, 4, 4);
  dataset->before_get = [](int64_t index) {
    if (index == 6) throw std::runtime_error("corrupt file x.png");
  };
  const auto order = epoch_permutation(8, 0, 0);
  const int64_t bad_step = (std::find(order.begin(), order.end(), 6) - order.begin()) / 2;
  TrainLoader loader(dataset, TrainLoaderOptions().batch_size(2).workers(3));
  for (int64_t step = 0; step < bad_step; ++step) EXPECT_NO_THROW(loader.next());
  try {
    loader.next();
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("sample 6 of fake(8)"), std::string::npos) << message;
    EXPECT_NE(message.find("corrupt file x.png"), std::string::npos) << message;
  }
  // The loader goes on with the next step.
  EXPECT_EQ(loader.step(), bad_step + 1);
  if (bad_step + 1 < 4) {
    EXPECT_NO_THROW(loader.next());
  }
}

TEST(TrainLoader, DestructorStopsBlockedWorkers) {
  auto dataset = std::make_shared<FakeDataset>(8, 4, 4);
  std::atomic<int> loads{0};
  dataset->before_get = [&loads](int64_t) { ++loads; };
  {
    TrainLoader loader(dataset, TrainLoaderOptions().batch_size(2).workers(2).prefetch(3));
    loader.next();
  }
  // At most the consumed batch plus `prefetch` ahead were loaded.
  EXPECT_LE(loads.load(), 2 * (1 + 3));
}

TEST(TrainLoader, MissingTargetsBecomeInvalid) {
  auto dataset = std::make_shared<FakeDataset>(6, 3, 4);
  dataset->lacks_seg = [](int64_t index) { return index % 2 == 1; };
  TrainLoader loader(dataset, TrainLoaderOptions().batch_size(6).workers(0));
  const auto batch = loader.next();
  const auto cls = classes(batch);
  const auto seg = batch.targets.at("seg");
  ASSERT_EQ(seg.sizes(), (std::vector<int64_t>{6, 3, 4}));
  for (size_t k = 0; k < cls.size(); ++k) {
    EXPECT_EQ(seg[k].eq(255).all().item<bool>(), cls[k] % 2 == 1) << "sample " << cls[k];
  }
}

TEST(TrainLoader, TaskSubsetAndMismatchErrors) {
  auto dataset = std::make_shared<FakeDataset>(4, 3, 3);
  TrainLoader loader(dataset,
                     TrainLoaderOptions().workers(0).tasks({{"seg", "segmentation", 4, 1.0}}));
  const auto batch = loader.next();
  EXPECT_EQ(batch.targets.size(), 1u);
  EXPECT_EQ(batch.targets.count("seg"), 1u);
  EXPECT_THROW(TrainLoader(dataset, TrainLoaderOptions().tasks({{"seg", "segmentation", 40, 1.0}})),
               Error);
  try {
    TrainLoader(dataset, TrainLoaderOptions().tasks({{"sge", "segmentation", 4, 1.0}}));
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("did you mean 'seg'"), std::string::npos);
  }
  EXPECT_THROW(TrainLoader(dataset, TrainLoaderOptions().batch_size(0)), Error);
  EXPECT_THROW(TrainLoader(std::make_shared<FakeDataset>(0, 3, 3), TrainLoaderOptions()), Error);
}

TEST(Collate, RejectsDifferentImageSizes) {
  FakeDataset small(2, 3, 3);
  FakeDataset large(2, 4, 4);
  EXPECT_THROW(collate({small.get(0), large.get(0)}, small.tasks()), Error);
}

TEST(EvalLoader, SequentialNormalisedBatchesThenEnd) {
  auto dataset = std::make_shared<FakeDataset>(5, 3, 4);
  EvalLoader loader(
      dataset, EvalLoaderOptions().batch_size(2).workers(2).normalize(
                   NormalizeOptions().mode("mean_std").mean({0, 0, 0}).stddev({0.5, 0.5, 0.5})));
  EXPECT_EQ(loader.num_batches(), 3);
  std::vector<int64_t> seen;
  while (auto batch = loader.next()) {
    const auto cls = classes(*batch);
    for (size_t k = 0; k < cls.size(); ++k) {
      EXPECT_FLOAT_EQ(batch->images[k][2][1][1].item<float>(), cls[k] / 5.0f / 0.5f);
    }
    seen.insert(seen.end(), cls.begin(), cls.end());
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(loader.next().has_value());
}

TEST(EvalLoader, PropagatesErrors) {
  auto dataset = std::make_shared<FakeDataset>(3, 3, 4);
  dataset->before_get = [](int64_t index) {
    if (index == 1) throw Error("bad label file");
  };
  EvalLoader loader(dataset, EvalLoaderOptions().workers(2));
  EXPECT_TRUE(loader.next().has_value());
  EXPECT_THROW(loader.next(), Error);
  EXPECT_TRUE(loader.next().has_value());
  EXPECT_FALSE(loader.next().has_value());
}

}  // namespace
}  // namespace nddr
