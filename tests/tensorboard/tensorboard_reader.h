#pragma once
// Runs TensorBoard's own reader (the PyPI tensorboard package in the
// project's virtual environment, scripts/venv.sh) on a directory; tests skip
// when the environment is not there.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "python_tools.h"

namespace nddr::testing {

/// What tests/tensorboard/read_events.py prints for `directory`; a null
/// JSON value when the reader fails.
inline nlohmann::json read_events(const std::string& python,
                                  const std::filesystem::path& directory) {
  const std::filesystem::path out = directory / "read_events.json";
  const std::string command = "'" + python + "' '" + std::string(NDDR_SOURCE_DIR) +
                              "/tests/tensorboard/read_events.py' '" + directory.string() +
                              "' > '" + out.string() + "'";
  const int status = std::system(command.c_str());
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove(out);
  if (status != 0) return nullptr;
  return nlohmann::json::parse(text.str());
}

}  // namespace nddr::testing
