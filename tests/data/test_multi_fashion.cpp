#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "nddr/data/multi_fashion.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kItems = 12;

std::vector<uint8_t> big_endian(std::initializer_list<uint32_t> words) {
  std::vector<uint8_t> bytes;
  for (uint32_t w : words) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>(w >> shift));
  }
  return bytes;
}

void write_gzip(const fs::path& path, const std::vector<uint8_t>& bytes) {
  gzFile file = gzopen(path.string().c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

// A small train split in the Fashion-MNIST layout: item k is random noise in
// [1, 255] (so any misplaced pixel shows) with label k % 10.
class MultiFashionFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("nddr_multi_fashion_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_);
    items_ = torch::randint(1, 256, {kItems, 28, 28}, torch::TensorOptions().dtype(torch::kUInt8))
                 .contiguous();
    for (int64_t k = 0; k < kItems; ++k) labels_.push_back(static_cast<uint8_t>(k % 10));
    write_images(big_endian({0x803, kItems, 28, 28}), 0);
    write_labels(big_endian({0x801, kItems}), labels_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // The images file with `header`, dropping the last `drop` pixel bytes.
  void write_images(std::vector<uint8_t> header, size_t drop) {
    const auto* pixels = items_.data_ptr<uint8_t>();
    header.insert(header.end(), pixels, pixels + items_.numel() - static_cast<int64_t>(drop));
    write_gzip(images_path(), header);
  }
  void write_labels(std::vector<uint8_t> header, const std::vector<uint8_t>& labels) {
    header.insert(header.end(), labels.begin(), labels.end());
    write_gzip(labels_path(), header);
  }
  fs::path images_path() const { return root_ / "train-images-idx3-ubyte.gz"; }
  fs::path labels_path() const { return root_ / "train-labels-idx1-ubyte.gz"; }
  MultiFashionOptions options() const { return MultiFashionOptions().root(root_.string()); }

  // Which items at which offsets made this canvas: searched over every pair
  // and shift, comparing against the max-overlay of the two items. The
  // overlay is symmetric, so `first` is the item placed higher.
  struct Layout {
    int64_t first = -1, second = -1, row[2] = {0, 0}, col[2] = {0, 0};
  };
  Layout find_layout(const torch::Tensor& image) const {
    const auto canvas = (image[0] * 255).round().to(torch::kInt64).contiguous();
    const auto* c = canvas.data_ptr<int64_t>();
    const auto* items = items_.data_ptr<uint8_t>();
    for (int64_t a = 0; a < kItems; ++a)
      for (int64_t b = 0; b < kItems; ++b)
        for (int64_t r0 = 0; r0 <= 8; ++r0)
          for (int64_t c0 = 0; c0 <= 8; ++c0)
            for (int64_t r1 = 0; r1 <= 8; ++r1)
              for (int64_t c1 = 0; c1 <= 8; ++c1) {
                bool match = true;
                for (int64_t p = 0; p < 36 * 36 && match; ++p) {
                  const int64_t y = p / 36, x = p % 36;
                  int64_t expected = 0;
                  if (y >= r0 && y < r0 + 28 && x >= c0 && x < c0 + 28) {
                    expected = items[a * 784 + (y - r0) * 28 + x - c0];
                  }
                  if (y >= r1 && y < r1 + 28 && x >= c1 && x < c1 + 28) {
                    expected = std::max<int64_t>(expected, items[b * 784 + (y - r1) * 28 + x - c1]);
                  }
                  match = c[p] == expected;
                }
                if (match)
                  return r0 <= r1 ? Layout{a, b, {r0, r1}, {c0, c1}}
                                  : Layout{b, a, {r1, r0}, {c1, c0}};
              }
    return {};
  }

  fs::path root_;
  torch::Tensor items_;
  std::vector<uint8_t> labels_;
};

TEST_F(MultiFashionFixture, SamplesOverlayTwoShiftedItemsWithTheirClasses) {
  const MultiFashion data(options());
  EXPECT_EQ(data.num_items(), kItems);
  EXPECT_EQ(data.size(), kItems);
  const auto tasks = data.tasks();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].name, "left");
  EXPECT_EQ(tasks[1].name, "right");
  for (const auto& task : tasks) {
    EXPECT_EQ(task.kind, "classification");
    EXPECT_EQ(task.channels, 10);
  }
  std::set<int64_t> firsts;
  for (int64_t i = 0; i < data.size(); ++i) {
    const Sample s = data.get(i);
    ASSERT_EQ(s.image.sizes(), (torch::IntArrayRef{3, 36, 36}));
    EXPECT_EQ(s.image.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(s.image[0], s.image[1]));
    EXPECT_TRUE(torch::equal(s.image[0], s.image[2]));
    const Layout layout = find_layout(s.image);
    ASSERT_GE(layout.first, 0) << "sample " << i << " is no overlay of two items";
    EXPECT_NE(layout.first, layout.second);
    EXPECT_LE(layout.row[0], 3);  // first item: up-left
    EXPECT_LE(layout.col[0], 3);
    EXPECT_GE(layout.row[1], 5);  // second item: down-right
    EXPECT_GE(layout.col[1], 5);
    const auto& left = s.targets.at("left");
    EXPECT_EQ(left.dim(), 0);
    EXPECT_EQ(left.scalar_type(), torch::kInt64);
    EXPECT_EQ(left.item<int64_t>(), labels_[static_cast<size_t>(layout.first)]);
    EXPECT_EQ(s.targets.at("right").item<int64_t>(), labels_[static_cast<size_t>(layout.second)]);
    firsts.insert(layout.first);
  }
  // One sample per item: every item is a first item exactly once.
  EXPECT_EQ(firsts.size(), static_cast<size_t>(kItems));
}

TEST_F(MultiFashionFixture, DeterministicBySeed) {
  const MultiFashion a(options().seed(5)), b(options().seed(5)), c(options().seed(6));
  bool any_differs = false;
  for (int64_t i = kItems - 1; i >= 0; --i) {
    const Sample sa = a.get(i), sb = b.get(i);
    EXPECT_TRUE(torch::equal(sa.image, sb.image));
    EXPECT_TRUE(torch::equal(sa.targets.at("left"), sb.targets.at("left")));
    EXPECT_TRUE(torch::equal(sa.targets.at("right"), sb.targets.at("right")));
    any_differs = any_differs || !torch::equal(sa.image, c.get(i).image);
  }
  EXPECT_TRUE(any_differs);
}

TEST_F(MultiFashionFixture, CountAndTaskNamesAreConfigurable) {
  const MultiFashion data(options().count(30).left_task("top").right_task("bottom"));
  EXPECT_EQ(data.size(), 30);
  const Sample s = data.get(29);
  EXPECT_EQ(s.targets.count("top"), 1u);
  EXPECT_EQ(s.targets.count("bottom"), 1u);
  EXPECT_NE(data.describe().find("30 samples"), std::string::npos) << data.describe();
  EXPECT_THROW(data.get(30), c10::Error);
  EXPECT_EQ(MultiFashion::class_names().size(), 10u);
}

void expect_error_containing(const MultiFashionOptions& options,
                             const std::vector<std::string>& parts) {
  try {
    MultiFashion data(options);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    for (const auto& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  }
}

TEST_F(MultiFashionFixture, BadOptionsAreErrors) {
  expect_error_containing(options().split("tset"), {"tset", "test"});
  expect_error_containing(options().count(-1), {"count"});
  expect_error_containing(options().left_task("x").right_task("x"), {"left_task"});
  // The test split's files are absent from the fixture.
  expect_error_containing(options().split("test"), {"t10k-images-idx3-ubyte.gz"});
}

TEST_F(MultiFashionFixture, TruncatedImagesNameTheFile) {
  write_images(big_endian({0x803, kItems, 28, 28}), 100);
  expect_error_containing(options(), {images_path().string(), "truncated"});
}

TEST_F(MultiFashionFixture, TrailingBytesNameTheFile) {
  write_images(big_endian({0x803, kItems - 1, 28, 28}), 0);
  expect_error_containing(options(), {images_path().string()});
}

TEST_F(MultiFashionFixture, WrongMagicNamesTheFile) {
  write_images(big_endian({0x802, kItems, 28, 28}), 0);
  expect_error_containing(options(), {images_path().string(), "magic"});
  write_images(big_endian({0x803, kItems, 28, 28}), 0);
  write_labels(big_endian({0x803, kItems}), labels_);
  expect_error_containing(options(), {labels_path().string(), "magic"});
}

TEST_F(MultiFashionFixture, WrongItemSizeNamesTheFile) {
  write_images(big_endian({0x803, kItems * 4, 14, 14}), 0);
  expect_error_containing(options(), {images_path().string(), "28x28"});
}

TEST_F(MultiFashionFixture, BadLabelsNameTheFile) {
  write_labels(big_endian({0x801, kItems - 1}), std::vector<uint8_t>(kItems - 1, 0));
  expect_error_containing(options(), {labels_path().string(), images_path().string()});
  auto labels = labels_;
  labels[3] = 10;
  write_labels(big_endian({0x801, kItems}), labels);
  expect_error_containing(options(), {labels_path().string(), "item 3"});
  write_labels({0, 0}, {});
  expect_error_containing(options(), {labels_path().string(), "header"});
}

TEST_F(MultiFashionFixture, CorruptGzipNamesTheFile) {
  std::ifstream in(images_path(), std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  std::ofstream out(images_path(), std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  out.close();
  expect_error_containing(options(), {images_path().string()});
}

// The Debian package's real files, when installed.
TEST(MultiFashion, DebianFashionMnistSplits) {
  const MultiFashionOptions defaults;
  if (!fs::exists(fs::path(defaults.root()) / "t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  for (const auto& [split, items] : {std::pair<std::string, int64_t>{"train", 60000},
                                     std::pair<std::string, int64_t>{"test", 10000}}) {
    const MultiFashion data(MultiFashionOptions().split(split));
    EXPECT_EQ(data.num_items(), items);
    EXPECT_EQ(data.size(), items);
    std::set<int64_t> seen;
    for (int64_t i = 0; i < 500; ++i) {
      const Sample s = data.get(i * (items / 500));
      for (const char* task : {"left", "right"}) {
        const int64_t label = s.targets.at(task).item<int64_t>();
        EXPECT_GE(label, 0);
        EXPECT_LT(label, 10);
        seen.insert(label);
      }
      EXPECT_GT(s.image.max().item<float>(), 0.5f);
      EXPECT_LE(s.image.max().item<float>(), 1.0f);
    }
    EXPECT_EQ(seen.size(), 10u) << split;
  }
}

}  // namespace
}  // namespace nddr
