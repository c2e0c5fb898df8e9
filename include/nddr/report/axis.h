#pragma once
// Axis ticks for the plots: round values a reader can take in at a glance.

#include <string>
#include <vector>

namespace nddr {

/// Evenly spaced ticks at a "nice" step (1, 2 or 5 times a power of ten)
/// giving about `target` intervals; the first tick is at or below `low` and
/// the last at or above `high`, so the ticks also give the axis range. An
/// empty range (low == high) is widened around its value.
///
///   nice_ticks(0.13, 0.92, 5) == {0, 0.2, 0.4, 0.6, 0.8, 1}
std::vector<double> nice_ticks(double low, double high, int target = 5);

/// A tick label: as many decimals as the tick step needs and no more
/// ("0.25", "20", "-1.5"), scientific for very large or small magnitudes
/// ("1e-05", "2.5e+06").
std::string format_tick(double value, double step);

/// Powers of ten covering [low, high] (both > 0), for a logarithmic axis:
///   log_ticks(0.003, 20) == {0.001, 0.01, 0.1, 1, 10, 100}
std::vector<double> log_ticks(double low, double high);

}  // namespace nddr
