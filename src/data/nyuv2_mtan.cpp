#include <algorithm>
#include <filesystem>

#include "label_maps.h"
#include "nddr/data/nyuv2.h"
#include "nddr/io/npy.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kSplits = {"train", "val"};

// Sample ids from file names "<digits>.npy"; other files are not samples.
c10::optional<int64_t> sample_id(const std::string& name) {
  const auto stem = name.size() > 4 ? name.substr(0, name.size() - 4) : std::string();
  if (name.substr(stem.size()) != ".npy" || stem.empty() || stem.size() > 9 ||
      !std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return c10::nullopt;
  }
  return std::stoll(stem);
}

[[noreturn]] void bad_array(const std::string& path, const torch::Tensor& array,
                            const std::string& expected) {
  throw Error("NYUv2 (MTAN) array '" + path + "' is " +
              std::string(c10::toString(array.scalar_type())) + " " + c10::str(array.sizes()) +
              ", expected " + expected);
}

// A floating-point [H,W,channels] array as float [channels,H,W]; a single
// channel may also come as [H,W].
torch::Tensor load_channels_last(const std::string& path, int64_t channels,
                                 const std::string& expected) {
  auto array = load_npy(path);
  if (channels == 1 && array.dim() == 2) array = array.unsqueeze(2);
  if (!array.is_floating_point() || array.dim() != 3 || array.size(2) != channels) {
    bad_array(path, array, expected);
  }
  return array.permute({2, 0, 1}).to(torch::kFloat).contiguous();
}

// Labels -1..12 (any numeric dtype holding whole numbers) as int64 with -1 -> 255.
torch::Tensor load_labels(const std::string& path) {
  const auto array = load_npy(path);
  if (array.dim() != 2 || array.scalar_type() == torch::kBool || array.is_complex()) {
    bad_array(path, array, "labels [H,W] of a numeric dtype");
  }
  const auto values = array.to(torch::kDouble);
  const auto bad = values.ne(values.round())
                       .logical_or(values.lt(-1))
                       .logical_or(values.ge(kNyuV2MtanClasses))
                       .logical_or(values.isnan());
  if (bad.any().item<bool>()) {
    throw Error("NYUv2 (MTAN) label array '" + path + "' holds " +
                std::to_string(values.masked_select(bad)[0].item<double>()) +
                ", expected whole numbers -1 (ignore) .. " + std::to_string(kNyuV2MtanClasses - 1));
  }
  auto labels = values.to(torch::kLong);
  return labels.masked_fill_(labels.eq(-1), kIgnoreLabel);
}

}  // namespace

NyuV2Mtan::NyuV2Mtan(NyuV2MtanOptions options) : options_(std::move(options)) {
  if (std::find(kSplits.begin(), kSplits.end(), options_.split()) == kSplits.end()) {
    throw Error("nyuv2_mtan: unknown split '" + options_.split() + "'" +
                did_you_mean(options_.split(), kSplits) + "; valid: " + join(kSplits, ", "));
  }
  if (tasks().empty()) {
    throw Error("nyuv2_mtan: seg_task, depth_task and normals_task are all empty");
  }
  validate_tasks(tasks());
  split_dir_ = (fs::path(options_.root()) / options_.split()).string();
  const fs::path image_dir = fs::path(split_dir_) / "image";
  std::error_code error;
  if (!fs::is_directory(image_dir, error)) {
    throw Error("NYUv2 (MTAN) folder '" + image_dir.string() + "' does not exist");
  }
  for (const auto& item : fs::directory_iterator(image_dir)) {
    if (auto id = sample_id(item.path().filename().string())) ids_.push_back(*id);
  }
  if (ids_.empty()) throw Error("NYUv2 (MTAN) folder '" + image_dir.string() + "' has no <i>.npy");
  std::sort(ids_.begin(), ids_.end());
  const std::vector<std::pair<std::string, std::string>> targets = {
      {options_.seg_task(), "label"},
      {options_.depth_task(), "depth"},
      {options_.normals_task(), "normal"}};
  for (const auto& [task, folder] : targets) {
    if (task.empty()) continue;
    for (size_t i = 0; i < ids_.size(); ++i) {
      const auto path = file(folder, static_cast<int64_t>(i));
      if (!fs::is_regular_file(path, error)) {
        throw Error("NYUv2 (MTAN) file '" + path + "' is missing (its image is '" +
                    file("image", static_cast<int64_t>(i)) + "')");
      }
    }
  }
}

std::string NyuV2Mtan::file(const std::string& folder, int64_t index) const {
  return (fs::path(split_dir_) / folder /
          (std::to_string(ids_[static_cast<size_t>(index)]) + ".npy"))
      .string();
}

int64_t NyuV2Mtan::size() const { return static_cast<int64_t>(ids_.size()); }

Sample NyuV2Mtan::get(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "NyuV2Mtan: index ", index, " out of range");
  Sample sample;
  const auto image_path = file("image", index);
  sample.image = load_channels_last(image_path, 3, "a float image [H,W,3]");
  if (!options_.seg_task().empty()) {
    const auto path = file("label", index);
    auto labels = load_labels(path);
    detail::check_same_size(sample.image, image_path, labels, path);
    sample.targets[options_.seg_task()] = labels;
  }
  if (!options_.depth_task().empty()) {
    const auto path = file("depth", index);
    auto depth = load_channels_last(path, 1, "a float depth map [H,W,1]");
    detail::check_same_size(sample.image, image_path, depth, path);
    sample.targets[options_.depth_task()] = depth;
  }
  if (!options_.normals_task().empty()) {
    const auto path = file("normal", index);
    auto normals = load_channels_last(path, 3, "float normals [H,W,3]");
    detail::check_same_size(sample.image, image_path, normals, path);
    sample.targets[options_.normals_task()] = normals;
  }
  return sample;
}

std::vector<TaskSpec> NyuV2Mtan::tasks() const {
  std::vector<TaskSpec> result;
  if (!options_.seg_task().empty()) {
    result.push_back({options_.seg_task(), "segmentation", kNyuV2MtanClasses, 1.0});
  }
  if (!options_.depth_task().empty()) {
    result.push_back({options_.depth_task(), "depth", 1, 1.0});
  }
  if (!options_.normals_task().empty()) {
    result.push_back({options_.normals_task(), "normals", 3, 1.0});
  }
  return result;
}

std::string NyuV2Mtan::describe() const {
  return "NYUv2 (MTAN) " + split_dir_ + ": " + std::to_string(size()) + " samples";
}

}  // namespace nddr
