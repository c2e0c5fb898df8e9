#pragma once
// The config options every subcommand shares: --config FILE and any number
// of key=value overrides, applied in order after the file.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "nddr/config/config.h"

namespace nddr::cli {

struct ConfigOptions {
  std::string file;
  std::vector<std::string> overrides;

  /// Adds --config and the positional overrides to `command`.
  void add_to(CLI::App& command);
  /// The config they describe; threads configured from its "threads" key.
  Config load() const;
};

/// Prints every config key with type, default and help (--help-config).
void print_config_keys();

}  // namespace nddr::cli
