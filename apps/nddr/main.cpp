// nddr: command-line front end. The library throws; only this file turns an
// exception into a message on stderr and an exit code.

#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.h"
#include "nddr/util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"nddr: multi-task CNNs with NDDR layerwise feature fusion (LibTorch)"};
  app.require_subcommand(1);
  nddr::cli::add_train_command(app);
  nddr::cli::add_eval_command(app);
  nddr::cli::add_info_command(app);
  nddr::cli::add_experiment_command(app);
  nddr::cli::add_analyze_fusion_command(app);
  nddr::cli::add_predict_command(app);
  nddr::cli::add_bench_command(app);
  nddr::cli::add_compare_command(app);
  nddr::cli::add_export_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const nddr::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
