#include "nddr/data/manifest.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "label_maps.h"
#include "manifest_table.h"
#include "nddr/tasks/task_kind.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

namespace fs = std::filesystem;

constexpr char kImageField[] = "image";

std::string lower_extension(const std::string& path) {
  auto extension = fs::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

// Reads the class index of a classification cell: an integer in [0, classes) or -1.
int64_t parse_label(const detail::ManifestCell& cell, int64_t classes, const std::string& where) {
  size_t used = 0;
  int64_t label = 0;
  try {
    label = std::stoll(cell.text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != cell.text.size()) {
    throw Error(where + ": expected a class index, got '" + cell.text + "'");
  }
  if (label < -1 || label >= classes) {
    throw Error(where + ": class " + cell.text + " is outside 0.." + std::to_string(classes - 1) +
                " (-1: ignore)");
  }
  return label;
}

// A dense cell names a file relative to the manifest's folder, which must exist.
std::string resolve_file(const detail::ManifestCell& cell, const fs::path& folder,
                         const std::string& where) {
  if (cell.number) throw Error(where + ": expected a file path, got the number " + cell.text);
  const auto path = (folder / cell.text).string();
  std::error_code error;
  if (!fs::is_regular_file(path, error)) throw Error(where + ": file '" + path + "' not found");
  return path;
}

}  // namespace

Manifest::Manifest(ManifestOptions options) : options_(std::move(options)) {
  const auto& path = options_.path();
  if (path.empty()) throw Error("manifest: no path given");
  validate_tasks(options_.tasks());
  if (!(options_.depth_scale() > 0)) {
    throw Error("manifest '" + path + "': depth_scale must be > 0, got " +
                std::to_string(options_.depth_scale()));
  }
  const auto extension = lower_extension(path);
  detail::ManifestTable table;
  if (extension == ".csv") {
    table = detail::read_csv_manifest(path);
  } else if (extension == ".jsonl" || extension == ".ndjson") {
    table = detail::read_jsonl_manifest(path);
  } else {
    throw Error("manifest '" + path + "': unknown format '" + extension +
                "', expected .csv, .jsonl or .ndjson");
  }

  std::vector<std::string> valid = {kImageField};
  for (const auto& task : options_.tasks()) valid.push_back(task.name);
  for (const auto& field : table.fields) {
    if (std::find(valid.begin(), valid.end(), field) == valid.end()) {
      throw Error("manifest '" + path + "': unknown " + table.field_word + " '" + field + "'" +
                  did_you_mean(field, valid) + "; expected " + join(valid, ", "));
    }
  }
  for (const auto& name : valid) {
    if (std::find(table.fields.begin(), table.fields.end(), name) == table.fields.end()) {
      throw Error("manifest '" + path + "' has no " + table.field_word + " '" + name + "'");
    }
  }

  const fs::path folder = fs::path(path).parent_path();
  for (const auto& row : table.rows) {
    const std::string line = "manifest '" + path + "' line " + std::to_string(row.line);
    auto where = [&](const std::string& field) {
      return line + ", " + table.field_word + " '" + field + "'";
    };
    Entry entry;
    auto image = row.cells.find(kImageField);
    if (image == row.cells.end()) throw Error(where(kImageField) + ": no image");
    entry.image = resolve_file(image->second, folder, where(kImageField));
    for (const auto& task : options_.tasks()) {
      Target target;
      auto cell = row.cells.find(task.name);
      if (cell != row.cells.end()) {
        target.present = true;
        if (task.kind->read_file) {
          target.file = resolve_file(cell->second, folder, where(task.name));
        } else {
          target.label = parse_label(cell->second, task.channels, where(task.name));
        }
      }
      entry.targets.push_back(std::move(target));
    }
    entries_.push_back(std::move(entry));
  }
  if (entries_.empty()) throw Error("manifest '" + path + "' lists no samples");
}

int64_t Manifest::size() const { return static_cast<int64_t>(entries_.size()); }

Sample Manifest::get(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "Manifest: index ", index, " out of range");
  const Entry& entry = entries_[static_cast<size_t>(index)];
  Sample sample;
  sample.image = detail::read_rgb_image(entry.image);
  for (size_t i = 0; i < entry.targets.size(); ++i) {
    const Target& target = entry.targets[i];
    if (!target.present) continue;
    const TaskSpec& task = options_.tasks()[i];
    const torch::Tensor value =
        task.kind->read_file
            ? task.kind->read_file(target.file, task, TargetFileOptions{options_.depth_scale()})
            : torch::tensor(target.label, torch::kLong);
    if (is_dense(task.kind)) detail::check_same_size(sample.image, entry.image, value, target.file);
    sample.targets[task.name] = value;
  }
  return sample;
}

std::vector<TaskSpec> Manifest::tasks() const { return options_.tasks(); }

std::string Manifest::describe() const {
  return "manifest " + options_.path() + ": " + std::to_string(size()) + " samples";
}

}  // namespace nddr
