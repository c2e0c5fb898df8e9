#include "nddr/tasks/histogram.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace nddr {

BinnedOrderStatistics::BinnedOrderStatistics(double low, double high, int64_t bins)
    : low_(low), width_((high - low) / static_cast<double>(bins)) {
  TORCH_CHECK(bins > 0 && high > low, "BinnedOrderStatistics needs bins > 0 and high > low, got ",
              bins, " bins over [", low, ", ", high, "]");
  counts_.assign(static_cast<size_t>(bins), 0);
}

int64_t BinnedOrderStatistics::bin_of(double value) const {
  const double position = std::floor((value - low_) / width_);
  const auto last = static_cast<double>(counts_.size() - 1);
  // NaN counts as the highest value: in bin 0 a diverged network's NaN
  // angles would make the best possible median.
  if (std::isnan(position)) return static_cast<int64_t>(last);
  if (!(position > 0)) return 0;
  return static_cast<int64_t>(std::min(position, last));
}

void BinnedOrderStatistics::add(double value) {
  ++counts_[static_cast<size_t>(bin_of(value))];
  ++total_;
}

void BinnedOrderStatistics::add(const double* values, int64_t count) {
  for (int64_t i = 0; i < count; ++i) ++counts_[static_cast<size_t>(bin_of(values[i]))];
  total_ += count;
}

double BinnedOrderStatistics::order_statistic(int64_t k) const {
  TORCH_CHECK(k >= 1 && k <= total_, "order statistic ", k, " requested of ", total_, " values");
  int64_t before = 0;
  for (size_t bin = 0; bin < counts_.size(); ++bin) {
    const int64_t in_bin = counts_[bin];
    if (before + in_bin >= k) {
      // The bin's values sit at the centres of in_bin equal slices of it.
      const double offset = (static_cast<double>(k - before) - 0.5) / static_cast<double>(in_bin);
      return low_ + (static_cast<double>(bin) + offset) * width_;
    }
    before += in_bin;
  }
  TORCH_CHECK(false, "BinnedOrderStatistics: counts do not add up to the total");
}

double BinnedOrderStatistics::median() const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  if (total_ % 2 == 1) return order_statistic((total_ + 1) / 2);
  return 0.5 * (order_statistic(total_ / 2) + order_statistic(total_ / 2 + 1));
}

void BinnedOrderStatistics::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
}

void BinnedOrderStatistics::set_bin_counts(std::vector<int64_t> counts) {
  TORCH_CHECK(counts.size() == counts_.size(), "BinnedOrderStatistics: ", counts.size(),
              " counts given for ", counts_.size(), " bins");
  total_ = 0;
  for (const int64_t count : counts) {
    TORCH_CHECK(count >= 0, "BinnedOrderStatistics: negative bin count ", count);
    total_ += count;
  }
  counts_ = std::move(counts);
}

}  // namespace nddr
