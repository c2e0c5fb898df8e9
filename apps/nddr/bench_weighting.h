#pragma once
// `nddr bench --weighting`: the cost of each weighting method per train step,
// relative to fixed weighting.

#include <string>
#include <vector>

namespace nddr::cli {

/// Runs `nddr <bench_args> train.weighting=<method> --json` once per method,
/// each in a fresh process so that every peak RSS is that method's own, and
/// prints each train step's median time and peak RSS and their ratios to
/// "fixed" (run first). `methods` empty = every registered method.
void run_weighting_bench(const std::vector<std::string>& bench_args,
                         std::vector<std::string> methods, bool json);

}  // namespace nddr::cli
