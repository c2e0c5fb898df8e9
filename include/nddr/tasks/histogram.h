#pragma once

#include <cstdint>
#include <vector>

namespace nddr {

/// Order statistics (median, quantiles) of a stream too large to keep, from
/// counts in fixed-width bins: the normals median pools every valid pixel of a
/// test set (NYUv2: 654 x 480 x 640) without storing the angles.
///
/// The k-th smallest value is placed inside its bin by linear interpolation,
/// as if the bin's values were spread evenly over it, so every estimate is
/// within one bin width of the exact value. Values outside [low, high] are
/// clamped into the first or last bin; NaN counts as the highest value (for
/// an error such as an angle, NaN must never look good).
class BinnedOrderStatistics {
 public:
  BinnedOrderStatistics(double low, double high, int64_t bins);

  void add(double value);
  /// Adds every element of a contiguous array.
  void add(const double* values, int64_t count);
  int64_t count() const { return total_; }
  double bin_width() const { return width_; }

  /// Estimate of the k-th smallest value added, k in [1, count()].
  double order_statistic(int64_t k) const;
  /// Estimate of the median: the middle value, or the mean of the two middle
  /// values for an even count. NaN when nothing was added.
  double median() const;

  void reset();

  /// The counts per bin, to merge histograms of disjoint parts of a stream.
  const std::vector<int64_t>& bin_counts() const { return counts_; }
  /// Replaces the counts (size bins(), each >= 0).
  void set_bin_counts(std::vector<int64_t> counts);

 private:
  int64_t bin_of(double value) const;

  double low_;
  double width_;
  std::vector<int64_t> counts_;
  int64_t total_ = 0;
};

}  // namespace nddr
