#include "commands.h"

namespace nddr::cli {

void add_info_command(CLI::App& app) {
  app.add_subcommand("info", "Print a network's structure, parameters per part and FLOPs");
}

}  // namespace nddr::cli
