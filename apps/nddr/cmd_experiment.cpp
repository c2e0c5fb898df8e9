#include <chrono>
#include <iostream>
#include <memory>

#include "commands.h"
#include "nddr/experiment/runner.h"
#include "nddr/experiment/summary.h"
#include "nddr/train/stop_signal.h"
#include "nddr/util/threads.h"
#include "progress.h"

namespace nddr::cli {

namespace {

// One line per run (k/N, row, seed, elapsed, ETA from the runs trained so
// far), the training progress under it.
class ExperimentProgress : public ExperimentObserver {
 public:
  explicit ExperimentProgress(bool quiet) : quiet_(quiet) {}

  void on_run_start(size_t index, size_t total, const RunSpec& run, RunState state) override {
    const size_t remaining = total - index;
    training_ = std::make_unique<ProgressPrinter>(run.name, quiet_);
    if (quiet_) return;
    const double elapsed = seconds_since(start_);
    std::cerr << "[" << index + 1 << "/" << total << "] " << run.row << " seed " << run.seed
              << (state == RunState::kFinished    ? ": finished, skipped"
                  : state == RunState::kResumable ? ": resuming"
                                                  : ": training")
              << " | elapsed " << format_duration(elapsed);
    if (trained_ > 0) {
      std::cerr << " | ETA <= " << format_duration(train_seconds_ / trained_ * remaining);
    }
    std::cerr << "\n";
  }
  TrainObserver& train_observer() override { return *training_; }
  void on_run_end(const RunSpec& run, const RunResults& results, double seconds) override {
    ++trained_;
    train_seconds_ += seconds;
    if (!quiet_) {
      std::cerr << run.name << " done in " << format_duration(seconds) << ": "
                << format_metrics(results.tasks)
                << (is_invalid(results) ? " (INVALID: " + results.info.at(kInvalidInfoKey) + ")"
                                        : "")
                << "\n";
    }
  }

 private:
  static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  bool quiet_;
  std::unique_ptr<ProgressPrinter> training_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  size_t trained_ = 0;
  double train_seconds_ = 0;
};

struct ExperimentCommand {
  std::string file;
  bool report_only = false;
  bool list = false;
  bool quiet = false;
  std::string shard;

  void run() const {
    const ExperimentSpec spec = load_experiment(file);
    if (list) {
      for (const auto& run : expand_runs(spec)) {
        const RunState state = run_state(run_dir(spec, run));
        std::cout << run_dir(spec, run) << "  "
                  << (state == RunState::kFinished    ? "finished"
                      : state == RunState::kResumable ? "resumable"
                                                      : "to train")
                  << "\n";
      }
      return;
    }
    if (!report_only) {
      const Shard part = shard.empty() ? Shard{} : parse_shard(shard);
      configure_threads(static_cast<int>(spec.base.get_int("threads")));
      ExperimentProgress progress(quiet);
      install_stop_handlers();
      run_experiment(spec, progress, part);
      if (const int signal = stop_requested()) {
        std::cerr << "interrupted by " << signal_name(signal)
                  << "; the run has a checkpoint: run the same command again to resume\n";
        throw CLI::RuntimeError(128 + signal);
      }
      if (part.count > 1) {
        // Other shards may still be training: the report waits for them.
        std::cout << "shard " << shard << " done; once every shard is, write the report with: "
                  << "nddr experiment " << file << " --report-only\n";
        return;
      }
    }
    std::cout << write_report(spec) << "report: " << spec.report_dir << "/" << slug(spec.name)
              << ".{md,csv} and PNGs\n";
  }
};

}  // namespace

void add_experiment_command(CLI::App& app) {
  auto command = std::make_shared<ExperimentCommand>();
  CLI::App* sub =
      app.add_subcommand("experiment",
                         "Train a grid of methods x seeds (x ablations), skipping finished runs, "
                         "then write tables and plots");
  sub->add_option("file", command->file, "experiment YAML (see configs/experiments/)")->required();
  sub->add_flag("--report-only", command->report_only,
                "only (re)write the report from the finished runs");
  sub->add_flag("--list", command->list, "list the runs and whether each is finished");
  sub->add_flag("-q,--quiet", command->quiet, "no progress output");
  sub->add_option("--shard", command->shard,
                  "K/N: train only every N-th run starting at the K-th, so N processes can "
                  "share the grid (then --report-only)");
  sub->callback([command] { command->run(); });
}

}  // namespace nddr::cli
