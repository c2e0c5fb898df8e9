#pragma once
// A tiny counter-based random stream for generated datasets: sample i of a
// dataset draws from SampleRng(seed, i), so every sample is a pure function of
// (seed, index), independent of thread and call order, and identical on every
// platform (unlike std:: distributions, whose algorithms are unspecified).

#include <cmath>
#include <cstdint>

namespace nddr {

class SampleRng {
 public:
  SampleRng(uint64_t seed, uint64_t index)
      : state_(mix(seed ^ mix(index + 0x632be59bd9b4e019ULL))) {}

  /// Uniform 64-bit value (SplitMix64).
  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix(state_);
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }

  /// Uniform integer in [low, high], both included.
  int64_t integer(int64_t low, int64_t high) {
    const auto span = static_cast<uint64_t>(high - low) + 1;
    return low + static_cast<int64_t>(next() % span);
  }

  /// Standard normal (Box-Muller, both values used: pixel noise draws many).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));  // 1 - u > 0
    const double angle = 2.0 * M_PI * uniform();
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace nddr
