#include "nddr/report/axis.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nddr {

namespace {

/// Beyond these magnitudes fixed-point labels get too long to read.
constexpr double kLargestFixed = 1e5;
constexpr double kSmallestFixedStep = 1e-4;

double nice_step(double span, int target) {
  const double raw = span / std::max(target, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * magnitude;
}

}  // namespace

std::vector<double> nice_ticks(double low, double high, int target) {
  TORCH_CHECK(std::isfinite(low) && std::isfinite(high) && low <= high,
              "nice_ticks needs a finite range with low <= high, got [", low, ", ", high, "]");
  if (low == high) {
    const double pad = low == 0 ? 1.0 : std::abs(low) * 0.1;
    low -= pad;
    high += pad;
  }
  const double step = nice_step(high - low, target);
  // Ticks are integer multiples of the step, so 0.1 + 0.2 style sums never
  // creep into the labels.
  const auto first = static_cast<int64_t>(std::floor(low / step + 1e-9));
  const auto last = static_cast<int64_t>(std::ceil(high / step - 1e-9));
  std::vector<double> ticks;
  for (int64_t i = first; i <= last; ++i) ticks.push_back(static_cast<double>(i) * step);
  return ticks;
}

std::string format_tick(double value, double step) {
  char buffer[32];
  if (std::abs(value) < step * 1e-9) value = 0;  // no "-0" or "1e-17" for zero
  if (std::abs(value) >= kLargestFixed || step < kSmallestFixedStep) {
    std::snprintf(buffer, sizeof(buffer), "%.3g", value);
  } else {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  }
  return buffer;
}

std::vector<double> log_ticks(double low, double high) {
  TORCH_CHECK(low > 0 && high >= low && std::isfinite(high),
              "log_ticks needs 0 < low <= high, got [", low, ", ", high, "]");
  auto first = static_cast<int>(std::floor(std::log10(low) + 1e-9));
  auto last = static_cast<int>(std::ceil(std::log10(high) - 1e-9));
  if (last == first) ++last;
  std::vector<double> ticks;
  for (int e = first; e <= last; ++e) ticks.push_back(std::pow(10.0, e));
  return ticks;
}

}  // namespace nddr
