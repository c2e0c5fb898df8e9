#pragma once
// Running the real `nddr` binary from the CLI tests through the shell.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/temp_dir.h"

namespace nddr::testing {

struct Output {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string describe(const Output& output) {
  return "exit " + std::to_string(output.code) + "\nstdout:\n" + output.out + "\nstderr:\n" +
         output.err;
}

/// Runs a shell command line in `dir`, where `$NDDR` is the binary under
/// test, capturing stdout and stderr (in dir/stdout<tag>.txt and
/// dir/stderr<tag>.txt) and the exit code (128 + signal when killed).
inline Output run_in(const std::filesystem::path& dir, const std::string& command_line,
                     const std::string& tag = "") {
  const auto out = dir / ("stdout" + tag + ".txt");
  const auto err = dir / ("stderr" + tag + ".txt");
  const std::string command = "cd '" + dir.string() + "' && NDDR='" NDDR_CLI_PATH "' && " +
                              command_line + " > '" + out.string() + "' 2> '" + err.string() + "'";
  const int status = std::system(command.c_str());
  Output result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(out);
  result.err = read_text(err);
  return result;
}

/// `nddr <args>` in `dir`.
inline Output run_cli(const std::filesystem::path& dir, const std::string& args) {
  return run_in(dir, "\"$NDDR\" " + args);
}

}  // namespace nddr::testing
