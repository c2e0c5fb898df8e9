#include "nddr/experiment/runner.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>

#include "nddr/train/run.h"
#include "nddr/util/error.h"

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
  const auto slash = text.find('/');
  const auto bad = [&] {
    return Error("shard '" + text + "' must be K/N with 1 <= K <= N, e.g. 1/2");
  };
  if (slash == std::string::npos) throw bad();
  const std::string k = text.substr(0, slash), n = text.substr(slash + 1);
  const auto all_digits = [](const std::string& s) {
    return !s.empty() && s.size() < 6 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
  };
  if (!all_digits(k) || !all_digits(n)) throw bad();
  const size_t index = std::stoul(k), count = std::stoul(n);
  if (index < 1 || index > count) throw bad();
  return {index - 1, count};
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
    observer.on_run_end(
        runs[i], results,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

}  // namespace nddr
