#include "config_options.h"

#include <iomanip>
#include <iostream>

#include "nddr/util/threads.h"

namespace nddr::cli {

void ConfigOptions::add_to(CLI::App& command) {
  command.add_option("-c,--config", file, "YAML config file (see configs/)");
  command.add_option("overrides", overrides,
                     "config overrides key=value, e.g. train.steps=200 network.fusion=split");
  command.add_flag_callback(
      "--help-config",
      [] {
        print_config_keys();
        throw CLI::Success();
      },
      "print every config key with its default and exit");
}

Config ConfigOptions::load() const {
  Config config;
  if (!file.empty()) config.merge_file(file);
  for (const auto& assignment : overrides) config.apply_override(assignment);
  configure_threads(static_cast<int>(config.get_int("threads")));
  return config;
}

void print_config_keys() {
  for (const auto& spec : config_schema()) {
    std::cout << std::left << std::setw(32) << spec.key << " " << std::setw(28)
              << spec.default_value << " " << spec.help << "\n";
  }
}

}  // namespace nddr::cli
