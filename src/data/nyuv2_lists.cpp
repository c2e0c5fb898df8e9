#include <filesystem>
#include <fstream>
#include <sstream>

#include "label_maps.h"
#include "nddr/data/nyuv2.h"
#include "nddr/tasks/task_kind.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

namespace fs = std::filesystem;

struct ListEntry {
  int64_t line;
  std::string image;
  std::string label;
};

std::vector<ListEntry> read_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open NYUv2 list file '" + path + "'");
  std::vector<ListEntry> entries;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    std::istringstream fields(text);
    std::vector<std::string> parts;
    for (std::string part; fields >> part;) parts.push_back(part);
    if (parts.empty()) continue;
    if (parts.size() != 2) {
      throw Error("NYUv2 list file '" + path + "' line " + std::to_string(line) +
                  ": expected '<image path> <label path>', got '" + text + "'");
    }
    entries.push_back({line, parts[0], parts[1]});
  }
  if (entries.empty()) throw Error("NYUv2 list file '" + path + "' has no entries");
  return entries;
}

// The reference code concatenates root and path, and its lists start paths
// with '/': strip that so both "/img/1.png" and "img/1.png" work.
std::string resolve(const std::string& root, const std::string& path) {
  const auto start = path.find_first_not_of('/');
  return (fs::path(root) / path.substr(start == std::string::npos ? path.size() : start)).string();
}

std::string root_for(const NyuV2ListsOptions& options, const std::string& list) {
  return options.root().empty() ? fs::path(list).parent_path().string() : options.root();
}

}  // namespace

NyuV2Lists::NyuV2Lists(NyuV2ListsOptions options) : options_(std::move(options)) {
  const bool has_seg = !options_.seg_list().empty();
  const bool has_normals = !options_.normals_list().empty();
  if (!has_seg && !has_normals) throw Error("nyuv2_lists: give seg_list, normals_list or both");
  if (options_.classes() < 1) {
    throw Error("nyuv2_lists: classes must be >= 1, got " + std::to_string(options_.classes()));
  }
  if ((has_seg && options_.seg_task().empty()) ||
      (has_normals && options_.normals_task().empty())) {
    throw Error("nyuv2_lists: a given list needs a task name (seg_task, normals_task)");
  }
  validate_tasks(tasks());
  std::vector<ListEntry> seg;
  std::vector<ListEntry> normals;
  if (has_seg) seg = read_list(options_.seg_list());
  if (has_normals) normals = read_list(options_.normals_list());
  if (has_seg && has_normals) {
    if (seg.size() != normals.size()) {
      throw Error("NYUv2 seg list '" + options_.seg_list() + "' has " + std::to_string(seg.size()) +
                  " entries but normals list '" + options_.normals_list() + "' has " +
                  std::to_string(normals.size()));
    }
    for (size_t i = 0; i < seg.size(); ++i) {
      if (seg[i].image != normals[i].image) {
        throw Error("NYUv2 lists disagree on entry " + std::to_string(i + 1) + ": seg list '" +
                    options_.seg_list() + "' line " + std::to_string(seg[i].line) + " names '" +
                    seg[i].image + "', normals list '" + options_.normals_list() + "' line " +
                    std::to_string(normals[i].line) + " names '" + normals[i].image + "'");
      }
    }
  }
  const size_t count = has_seg ? seg.size() : normals.size();
  for (size_t i = 0; i < count; ++i) {
    Entry entry;
    if (has_seg) {
      const auto root = root_for(options_, options_.seg_list());
      entry.image = resolve(root, seg[i].image);
      entry.seg = resolve(root, seg[i].label);
    }
    if (has_normals) {
      const auto root = root_for(options_, options_.normals_list());
      entry.image = resolve(root, normals[i].image);
      entry.normals = resolve(root, normals[i].label);
    }
    entries_.push_back(std::move(entry));
  }
}

int64_t NyuV2Lists::size() const { return static_cast<int64_t>(entries_.size()); }

Sample NyuV2Lists::get(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "NyuV2Lists: index ", index, " out of range");
  const Entry& entry = entries_[static_cast<size_t>(index)];
  Sample sample;
  sample.image = detail::read_rgb_image(entry.image);
  if (!entry.seg.empty()) {
    const TaskSpec task{options_.seg_task(), "segmentation", options_.classes()};
    auto labels = task.kind->read_file(entry.seg, task, {});
    detail::check_same_size(sample.image, entry.image, labels, entry.seg);
    sample.targets[options_.seg_task()] = labels;
  }
  if (!entry.normals.empty()) {
    const TaskSpec task{options_.normals_task(), "normals", 3};
    auto normals = task.kind->read_file(entry.normals, task, {});
    detail::check_same_size(sample.image, entry.image, normals, entry.normals);
    sample.targets[options_.normals_task()] = normals;
  }
  return sample;
}

std::vector<TaskSpec> NyuV2Lists::tasks() const {
  std::vector<TaskSpec> result;
  if (!options_.seg_list().empty()) {
    result.push_back({options_.seg_task(), "segmentation", options_.classes(), 1.0});
  }
  if (!options_.normals_list().empty()) {
    result.push_back({options_.normals_task(), "normals", 3, 1.0});
  }
  return result;
}

std::string NyuV2Lists::describe() const {
  std::string lists;
  if (!options_.seg_list().empty()) lists += "seg " + options_.seg_list();
  if (!options_.normals_list().empty()) {
    lists += (lists.empty() ? "" : ", ") + std::string("normals ") + options_.normals_list();
  }
  return "NYUv2 lists (" + lists + "): " + std::to_string(size()) + " samples";
}

}  // namespace nddr
