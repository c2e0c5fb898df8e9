#include "nddr/experiment/runner.h"

#include <chrono>
#include <filesystem>

#include "nddr/train/run.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

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

Shard parse_shard(const std::string& text) {
  const auto parts = split(text, '/');
  const auto index = parts.size() == 2 ? parse_small_count(parts[0]) : std::nullopt;
  const auto count = parts.size() == 2 ? parse_small_count(parts[1]) : std::nullopt;
  if (!index || !count || *index < 1 || *index > *count) {
    throw Error("shard '" + text + "' must be K/N with 1 <= K <= N, e.g. 1/2");
  }
  return {static_cast<size_t>(*index - 1), static_cast<size_t>(*count)};
}

void run_experiment(const ExperimentSpec& spec, ExperimentObserver& observer, Shard shard) {
  TORCH_CHECK(shard.count >= 1 && shard.index < shard.count, "bad shard ", shard.index, "/",
              shard.count);
  const auto runs = expand_runs(spec);
  for (size_t i = shard.index; i < runs.size(); i += shard.count) {
    const RunState state = run_state(run_dir(spec, runs[i]));
    observer.on_run_start(i, runs.size(), runs[i], state);
    if (state == RunState::kFinished) continue;
    const auto start = std::chrono::steady_clock::now();
    const RunResults results = train_from_config(run_config(spec, runs[i]),
                                                 observer.train_observer(), RunOptions{true, 0});
    // SIGINT/SIGTERM stopped the run at a checkpoint: the grid stops too.
    if (results.info.count("stopped_by_signal")) return;
    observer.on_run_end(
        runs[i], results,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

}  // namespace nddr
