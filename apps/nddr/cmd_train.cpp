#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "config_options.h"
#include "nddr/train/run.h"
#include "nddr/train/stop_signal.h"
#include "progress.h"

namespace nddr::cli {

namespace {

struct TrainCommand {
  ConfigOptions config;
  bool resume = false;
  bool overwrite = false;
  int64_t stop_after = 0;
  bool quiet = false;
  bool json = false;

  void run() const {
    const Config loaded = config.load();
    ProgressPrinter progress(loaded.get_string("name"), quiet);
    install_stop_handlers();
    const RunResults results =
        train_from_config(loaded, progress, RunOptions{resume, stop_after, overwrite});
    const RunPaths paths = run_paths(loaded);
    if (results.info.count("stopped_by_signal")) {
      const int signal = std::stoi(results.info.at("stopped_by_signal"));
      std::cerr << "interrupted by " << signal_name(signal) << " at step "
                << results.info.at("stopped_at_step") << "; checkpoint " << paths.checkpoint()
                << " written; continue with --resume\n";
      throw CLI::RuntimeError(128 + signal);
    }
    if (results.tasks.empty()) {
      std::cout << "stopped at step " << results.info.at("stopped_at_step") << "; resume with "
                << "--resume (checkpoint " << paths.checkpoint() << ")\n";
      return;
    }
    if (json) {
      std::cout << nlohmann::json(results.tasks).dump() << "\n";
    } else {
      std::cout << format_metrics(results.tasks) << "\n"
                << "results: " << paths.results() << ", weights: " << paths.weights() << "\n";
    }
  }
};

}  // namespace

void add_train_command(CLI::App& app) {
  auto command = std::make_shared<TrainCommand>();
  CLI::App* sub = app.add_subcommand("train", "Train a network from a config, then evaluate it");
  command->config.add_to(*sub);
  sub->add_flag("--resume", command->resume,
                "continue from the run directory's checkpoint if there is one");
  sub->add_flag("--overwrite", command->overwrite,
                "replace the run already in the run directory (without it, that is an error)");
  sub->add_option("--stop-after", command->stop_after,
                  "stop with a checkpoint after this many steps (resume later)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("-q,--quiet", command->quiet, "no progress output");
  sub->add_flag("--json", command->json, "print the final metrics as one JSON object");
  sub->callback([command] { command->run(); });
}

}  // namespace nddr::cli
