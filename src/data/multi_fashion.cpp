#include "nddr/data/multi_fashion.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "nddr/util/error.h"
#include "nddr/util/random.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

constexpr int64_t kItemSize = 28;
constexpr int64_t kClasses = 10;
// The first item's row and column offsets are in [0, kShift], the second's in
// [kFar - kShift, kFar]: the two ranges do not meet, so the first item is
// always strictly up-left of the second and "left" is never ambiguous.
constexpr int64_t kFar = kMultiFashionSize - kItemSize;
constexpr int64_t kShift = 3;
constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
// The permutation of first items draws from a stream no sample index uses.
constexpr uint64_t kOrderStream = ~0ULL;

std::vector<uint8_t> read_gzip(const std::string& path) {
  errno = 0;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    throw Error("multi-fashion: cannot open '" + path +
                "': " + (errno != 0 ? std::strerror(errno) : "out of memory") +
                " (option 'root' names the folder of the Fashion-MNIST idx files)");
  }
  std::vector<uint8_t> bytes;
  constexpr unsigned kChunk = 1 << 20;
  int read = 0;
  do {
    const size_t at = bytes.size();
    bytes.resize(at + kChunk);
    read = gzread(file, bytes.data() + at, kChunk);
    bytes.resize(at + static_cast<size_t>(std::max(read, 0)));
  } while (read > 0);
  int code = Z_OK;
  std::string message = gzerror(file, &code);
  gzclose(file);
  // zlib's message repeats the path: keep only what went wrong.
  if (starts_with(message, path + ": ")) message.erase(0, path.size() + 2);
  if (read < 0 || (code != Z_OK && code != Z_STREAM_END)) {
    throw Error("multi-fashion: '" + path + "' is not valid gzip data: " + message);
  }
  return bytes;
}

uint32_t big_endian(const std::vector<uint8_t>& bytes, size_t at) {
  return (uint32_t{bytes[at]} << 24) | (uint32_t{bytes[at + 1]} << 16) |
         (uint32_t{bytes[at + 2]} << 8) | uint32_t{bytes[at + 3]};
}

// An idx file's dimensions after checking its magic number and that its
// payload holds exactly their product of bytes; `bytes` keeps the payload.
std::vector<uint32_t> read_idx(const std::string& path, uint32_t magic,
                               std::vector<uint8_t>* bytes) {
  *bytes = read_gzip(path);
  const size_t dims = magic & 0xff;
  const size_t header = 4 * (1 + dims);
  if (bytes->size() < header) {
    throw Error("multi-fashion: '" + path + "' is truncated: " + std::to_string(bytes->size()) +
                " bytes, shorter than its idx header");
  }
  if (big_endian(*bytes, 0) != magic) {
    std::ostringstream out;
    out << "multi-fashion: '" << path << "' is not an idx file of " << dims
        << "-d unsigned bytes: magic 0x" << std::hex << big_endian(*bytes, 0) << ", expected 0x"
        << magic;
    throw Error(out.str());
  }
  std::vector<uint32_t> shape;
  size_t expected = 1;
  for (size_t d = 0; d < dims; ++d) {
    shape.push_back(big_endian(*bytes, 4 * (1 + d)));
    expected *= shape.back();
  }
  const size_t found = bytes->size() - header;
  if (found != expected) {
    throw Error("multi-fashion: '" + path + "' is " + (found < expected ? "truncated" : "corrupt") +
                ": " + std::to_string(found) + " data bytes, its header announces " +
                std::to_string(expected));
  }
  bytes->erase(bytes->begin(), bytes->begin() + static_cast<std::ptrdiff_t>(header));
  return shape;
}

}  // namespace

MultiFashion::MultiFashion(MultiFashionOptions options) : options_(std::move(options)) {
  const std::vector<std::string> splits = {"train", "test"};
  if (options_.split() != "train" && options_.split() != "test") {
    throw Error("multi-fashion: unknown split '" + options_.split() + "'" +
                did_you_mean(options_.split(), splits) + "; valid: " + join(splits, ", "));
  }
  if (options_.count() < 0) {
    throw Error("multi-fashion: option 'count' must be >= 0 (0: one per item), got " +
                std::to_string(options_.count()));
  }
  if (options_.left_task().empty() || options_.right_task().empty() ||
      options_.left_task() == options_.right_task()) {
    throw Error(
        "multi-fashion: options 'left_task' and 'right_task' must be distinct and "
        "non-empty, got '" +
        options_.left_task() + "' and '" + options_.right_task() + "'");
  }

  const std::string prefix =
      options_.root() + "/" + (options_.split() == "train" ? "train" : "t10k");
  const std::string images_path = prefix + "-images-idx3-ubyte.gz";
  const std::string labels_path = prefix + "-labels-idx1-ubyte.gz";
  const auto image_shape = read_idx(images_path, kImagesMagic, &pixels_);
  if (image_shape[1] != kItemSize || image_shape[2] != kItemSize) {
    throw Error("multi-fashion: '" + images_path + "' holds " + std::to_string(image_shape[1]) +
                "x" + std::to_string(image_shape[2]) + " images, expected 28x28");
  }
  const auto label_shape = read_idx(labels_path, kLabelsMagic, &labels_);
  if (label_shape[0] != image_shape[0]) {
    throw Error("multi-fashion: '" + labels_path + "' has " + std::to_string(label_shape[0]) +
                " labels but '" + images_path + "' has " + std::to_string(image_shape[0]) +
                " images");
  }
  if (labels_.empty()) throw Error("multi-fashion: '" + images_path + "' holds no images");
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (labels_[i] >= kClasses) {
      throw Error("multi-fashion: '" + labels_path + "': label " + std::to_string(labels_[i]) +
                  " of item " + std::to_string(i) + " is not in [0, 10)");
    }
  }

  // Fisher-Yates: with count <= items, every item is a first item at most once.
  order_.resize(labels_.size());
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<int64_t>(i);
  SampleRng rng(options_.seed(), kOrderStream);
  for (int64_t i = static_cast<int64_t>(order_.size()) - 1; i > 0; --i) {
    std::swap(order_[static_cast<size_t>(i)], order_[static_cast<size_t>(rng.integer(0, i))]);
  }
}

int64_t MultiFashion::size() const { return options_.count() > 0 ? options_.count() : num_items(); }

std::vector<TaskSpec> MultiFashion::tasks() const {
  return {{options_.left_task(), "classification", kClasses},
          {options_.right_task(), "classification", kClasses}};
}

std::string MultiFashion::describe() const {
  std::ostringstream out;
  out << "multi-fashion: split " << options_.split() << ", " << size() << " samples from "
      << num_items() << " items in " << options_.root() << ", seed " << options_.seed();
  return out.str();
}

const std::vector<std::string>& MultiFashion::class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

Sample MultiFashion::get(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "multi-fashion: index ", index, " out of range [0, ",
              size(), ")");
  SampleRng rng(options_.seed(), static_cast<uint64_t>(index));
  const int64_t items = num_items();
  const int64_t first = order_[static_cast<size_t>(index % items)];
  // A different second item whenever there is one.
  int64_t second = items > 1 ? rng.integer(0, items - 2) : 0;
  if (items > 1 && second >= first) ++second;

  const int64_t offsets[2][2] = {
      {rng.integer(0, kShift), rng.integer(0, kShift)},
      {rng.integer(kFar - kShift, kFar), rng.integer(kFar - kShift, kFar)}};
  const int64_t item[2] = {first, second};
  torch::Tensor canvas = torch::zeros({kMultiFashionSize, kMultiFashionSize}, torch::kUInt8);
  uint8_t* out = canvas.data_ptr<uint8_t>();
  for (int k = 0; k < 2; ++k) {
    const uint8_t* pixels = pixels_.data() + item[k] * kItemSize * kItemSize;
    for (int64_t r = 0; r < kItemSize; ++r) {
      for (int64_t c = 0; c < kItemSize; ++c) {
        uint8_t& target = out[(offsets[k][0] + r) * kMultiFashionSize + offsets[k][1] + c];
        target = std::max(target, pixels[r * kItemSize + c]);
      }
    }
  }

  Sample sample;
  sample.image = canvas.to(torch::kFloat32).div_(255).unsqueeze(0).expand({3, -1, -1}).contiguous();
  sample.targets[options_.left_task()] = torch::scalar_tensor(
      static_cast<int64_t>(labels_[static_cast<size_t>(first)]), torch::kInt64);
  sample.targets[options_.right_task()] = torch::scalar_tensor(
      static_cast<int64_t>(labels_[static_cast<size_t>(second)]), torch::kInt64);
  return sample;
}

}  // namespace nddr
