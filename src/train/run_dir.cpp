#include "nddr/train/run_dir.h"

#include <filesystem>

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace fs = std::filesystem;

std::vector<std::string> existing_run_files(const RunPaths& paths) {
  std::vector<std::string> files;
  for (const auto& path :
       {paths.config(), paths.log(), paths.checkpoint(), paths.weights(), paths.results()}) {
    if (fs::exists(path)) files.push_back(path);
  }
  // TensorBoard event files of an earlier run would mix its curves into this one.
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(paths.dir, error)) {
    if (starts_with(entry.path().filename().string(), "events.out.tfevents.")) {
      files.push_back(entry.path().string());
    }
  }
  return files;
}

void remove_run_files(const RunPaths& paths) {
  for (const auto& path : existing_run_files(paths)) {
    std::error_code error;
    fs::remove(path, error);
    if (error) throw Error("cannot remove '" + path + "': " + error.message());
  }
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.find(".tmp.") == std::string::npos) continue;
    std::error_code ignored;
    if (fs::remove(entry.path(), ignored)) removed.push_back(entry.path().string());
  }
  return removed;
}

}  // namespace nddr
