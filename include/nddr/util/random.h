#pragma once
// Portable random draws. The standard distributions are implementation-defined,
// and a batch (or a random loss weighting) must be the same on every platform
// for a given (seed, step), so nddr draws only through these helpers:
// std::mt19937_64 streams for the loader, augmentation and weightings,
// SampleRng for generated datasets.

#include <cmath>
#include <cstdint>
#include <random>

namespace nddr::detail {

constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

/// SplitMix64's mixing function: a well-mixed 64-bit hash of one word.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// splitmix64's finaliser: one step of the generator from state `x`.
inline uint64_t splitmix64(uint64_t x) { return mix64(x + kGoldenGamma); }

/// The top 53 bits of `bits` as a double uniform in [0, 1).
inline double unit_interval(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

/// The same shifted up by 2^-53: uniform in (0, 1], safe to take the log of.
inline double unit_interval_above_zero(uint64_t bits) {
  return (static_cast<double>(bits >> 11) + 1.0) * 0x1.0p-53;
}

/// A seed for the `index`-th generator of an independent `stream` under `seed`.
inline uint64_t mix_seed(uint64_t seed, uint64_t stream, uint64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ index);
}

/// Uniform in [0, 1) with 53 random bits.
inline double uniform01(std::mt19937_64& rng) { return unit_interval(rng()); }

/// Uniform in [0, n) without modulo bias; n >= 1.
inline uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = rng();
  while (x >= limit) x = rng();
  return x % n;
}

}  // namespace nddr::detail

namespace nddr {

/// A tiny counter-based random stream for generated datasets: sample i of a
/// dataset draws from SampleRng(seed, i), so every sample is a pure function
/// of (seed, index), independent of thread and call order.
class SampleRng {
 public:
  SampleRng(uint64_t seed, uint64_t index)
      : state_(detail::mix64(seed ^ detail::mix64(index + 0x632be59bd9b4e019ULL))) {}

  /// Uniform 64-bit value (SplitMix64).
  uint64_t next() {
    state_ += detail::kGoldenGamma;
    return detail::mix64(state_);
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return detail::unit_interval(next()); }
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
  uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace nddr
