#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "config_options.h"
#include "nddr/dist/run_group.h"
#include "nddr/dist/spawn.h"
#include "nddr/train/run.h"
#include "nddr/train/stop_signal.h"
#include "nddr/util/error.h"
#include "progress.h"

namespace nddr::cli {

namespace {

// This process's command line without its --nproc option: what each rank runs.
std::vector<std::string> rank_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\0', start);
    args.push_back(text.substr(start, end - start));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  std::vector<std::string> kept{std::filesystem::read_symlink("/proc/self/exe").string()};
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;
    } else if (args[i].rfind("--nproc=", 0) != 0) {
      kept.push_back(args[i]);
    }
  }
  return kept;
}

struct TrainCommand {
  ConfigOptions config;
  bool resume = false;
  bool overwrite = false;
  int64_t stop_after = 0;
  int64_t nproc = 0;
  bool quiet = false;
  bool json = false;

  void spawn(const Config& loaded) const {
    if (dist::launch_env_from_environment().world_size > 1) {
      throw Error(
          "--nproc starts its own ranks: do not combine it with a launcher (torchrun, "
          "srun, mpirun) that already set RANK/WORLD_SIZE");
    }
    const int64_t batch = loaded.get_int("train.batch_size");
    if (batch % nproc != 0) {
      throw Error("train.batch_size " + std::to_string(batch) +
                  " (the global batch) does not divide into --nproc " + std::to_string(nproc) +
                  " ranks");
    }
    const dist::SpawnOutcome outcome = dist::spawn_local_ranks(rank_command_line(), nproc);
    if (outcome.exit_code != 0) throw Error("distributed run stopped: " + outcome.failure);
  }

  void run() const {
    const Config loaded = config.load();
    if (nproc > 1) return spawn(loaded);
    const auto group = dist::process_group_for_run(loaded);
    const bool rank0 = !group || group->rank() == 0;
    ProgressPrinter progress(loaded.get_string("name"), quiet || !rank0);
    install_stop_handlers();
    const RunResults results =
        train_from_config(loaded, progress, RunOptions{resume, stop_after, overwrite, group});
    if (!rank0) return;
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
  sub->add_option("--nproc", command->nproc,
                  "train data-parallel in N local processes (Gloo on 127.0.0.1); see "
                  "docs/distributed.md for torchrun, srun and several machines")
      ->check(CLI::Range(1, 1024));
  sub->add_flag("-q,--quiet", command->quiet, "no progress output");
  sub->add_flag("--json", command->json, "print the final metrics as one JSON object");
  sub->callback([command] { command->run(); });
}

}  // namespace nddr::cli
