#include <filesystem>
#include <iostream>

#include "commands.h"
#include "config_options.h"
#include "nddr/config/network_config.h"
#include "nddr/experiment/fusion_analysis.h"
#include "nddr/io/atomic_file.h"
#include "nddr/io/safetensors.h"
#include "nddr/train/run.h"

namespace nddr::cli {

namespace {

struct AnalyzeFusionCommand {
  ConfigOptions config;
  std::string weights;
  std::string output;

  void run() const {
    const Config loaded = config.load();
    // No network runs here (the analysis reads the weights file), but the
    // device keys are checked as in every other subcommand.
    execution_options(loaded);
    const RunPaths paths = run_paths(loaded);
    const std::string weights_file = weights.empty() ? paths.weights() : weights;
    const std::string output_dir = output.empty() ? paths.dir : output;
    std::vector<std::string> tasks;
    for (const auto& task : tasks_from_config(loaded)) tasks.push_back(task.name);
    const FusionAnalysis analysis = analyze_fusion(load_safetensors(weights_file).tensors, tasks);

    const std::string table = markdown_table(fusion_table(analysis));
    std::filesystem::create_directories(output_dir);
    write_file_atomically(output_dir + "/fusion.md", [&](std::ostream& out) { out << table; });
    save_csv(output_dir + "/fusion.csv", fusion_table(analysis));
    save_heatmap(output_dir + "/fusion.png",
                 fusion_heatmap(analysis, "NDDR fusion: share of each source task (%)"));
    std::cout << "Block norms of each NDDR 1x1 conv (scaled by BN gain) and their shares:\n"
              << table << "written: " << output_dir << "/fusion.{md,csv,png}\n";
  }
};

}  // namespace

void add_analyze_fusion_command(CLI::App& app) {
  auto command = std::make_shared<AnalyzeFusionCommand>();
  CLI::App* sub = app.add_subcommand(
      "analyze-fusion", "Report how much each NDDR layer draws on each task's features");
  command->config.add_to(*sub);
  sub->add_option("--weights", command->weights,
                  "weights (safetensors); default: the config's run directory's");
  sub->add_option("-o,--output", command->output,
                  "folder for fusion.{md,csv,png}; default: the run directory");
  sub->callback([command] { command->run(); });
}

}  // namespace nddr::cli
