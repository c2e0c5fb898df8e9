#pragma once
// The Python interpreters the deploy tests compare against: Debian's
// /usr/bin/python3 (torch 1.13, onnx) and the project's PyPI virtual
// environment (scripts/venv.sh: onnxruntime, tensorboard). A test skips when
// the one it needs is absent.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace nddr::testing {

inline constexpr const char* kDebianPython = "/usr/bin/python3";

/// True when `python` runs and imports every module in `modules` (a Python list literal body).
inline bool python_imports(const std::string& python, const std::string& modules) {
  if (!std::filesystem::exists(python)) return false;
  const std::string command = "'" + python + "' -c 'import " + modules + "' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

/// The virtual environment's python once scripts/venv.sh has finished
/// installing it (its stamp file exists); empty otherwise.
inline std::string venv_python() {
  const char* override_dir = std::getenv("NDDR_VENV");
  const char* home = std::getenv("HOME");
  const std::filesystem::path venv =
      override_dir ? std::filesystem::path(override_dir)
                   : std::filesystem::path(home ? home : "/root") / ".cache/nddr/venv";
  if (!std::filesystem::exists(venv / ".nddr-packages")) return "";
  return (venv / "bin/python").string();
}

/// Runs a shell command; its exit status (0 on success).
inline int run_command(const std::string& command) { return std::system(command.c_str()); }

}  // namespace nddr::testing
