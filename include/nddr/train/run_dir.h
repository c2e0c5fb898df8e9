#pragma once
// The life of a run directory around training: refuse to mix a new run into
// an old one, clear it on --overwrite, and remove temporary files that a
// killed process left behind.

#include <string>
#include <vector>

#include "nddr/train/run.h"

namespace nddr {

/// The run files (config, log, checkpoint, weights, results) present in the
/// directory.
std::vector<std::string> existing_run_files(const RunPaths& paths);

/// Removes the run files; Error naming one that cannot be removed.
void remove_run_files(const RunPaths& paths);

/// Removes "<file>.tmp.<pid>.<n>" files (atomic writes a killed process
/// never finished) from `dir` and returns their names. Call it only while
/// holding the run's lock: no live writer can then own them.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

}  // namespace nddr
