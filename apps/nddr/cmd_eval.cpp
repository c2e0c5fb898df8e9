#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "config_options.h"
#include "nddr/train/run.h"
#include "progress.h"

namespace nddr::cli {

namespace {

struct EvalCommand {
  ConfigOptions config;
  std::string weights;
  std::string output;
  bool json = false;

  void run() const {
    const Config loaded = config.load();
    const std::string path = weights.empty() ? run_paths(loaded).weights() : weights;
    const RunResults results = evaluate_from_config(loaded, path);
    if (!output.empty()) save_results(output, results);
    if (json) {
      std::cout << nlohmann::json(results.tasks).dump() << "\n";
    } else {
      std::cout << format_metrics(results.tasks) << "\n";
    }
  }
};

}  // namespace

void add_eval_command(CLI::App& app) {
  auto command = std::make_shared<EvalCommand>();
  CLI::App* sub = app.add_subcommand("eval", "Evaluate trained weights on the config's test set");
  command->config.add_to(*sub);
  sub->add_option("-w,--weights", command->weights,
                  "weights (safetensors); default: the run directory's weights.safetensors");
  sub->add_option("-o,--output", command->output, "also write the results JSON here");
  sub->add_flag("--json", command->json, "print the metrics as one JSON object");
  sub->callback([command] { command->run(); });
}

}  // namespace nddr::cli
