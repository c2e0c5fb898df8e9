#include "nddr/experiment/runner.h"

#include <chrono>
#include <filesystem>

#include "nddr/train/run.h"

namespace nddr {

RunState run_state(const std::string& dir) {
  const RunPaths paths{dir};
  if (std::filesystem::exists(paths.results())) return RunState::kFinished;
  if (std::filesystem::exists(paths.checkpoint())) return RunState::kResumable;
  return RunState::kFresh;
}

std::string run_dir(const ExperimentSpec& spec, const RunSpec& run) {
  return spec.output_dir + "/" + run.name;
}

void run_experiment(const ExperimentSpec& spec, ExperimentObserver& observer) {
  const auto runs = expand_runs(spec);
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunState state = run_state(run_dir(spec, runs[i]));
    observer.on_run_start(i, runs.size(), runs[i], state);
    if (state == RunState::kFinished) continue;
    const auto start = std::chrono::steady_clock::now();
    const RunResults results = train_from_config(run_config(spec, runs[i]),
                                                 observer.train_observer(), RunOptions{true, 0});
    observer.on_run_end(
        runs[i], results,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

}  // namespace nddr
