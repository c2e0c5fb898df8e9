#pragma once
// Portable random draws. The standard distributions are implementation-defined,
// and a batch must be the same on every platform for a given (seed, step), so
// the data module draws only through these helpers.

#include <cstdint>
#include <random>

namespace nddr::detail {

/// splitmix64's finaliser: a well-mixed 64-bit hash of one word.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A seed for the `index`-th generator of an independent `stream` under `seed`.
inline uint64_t mix_seed(uint64_t seed, uint64_t stream, uint64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ index);
}

/// Uniform in [0, 1) with 53 random bits.
inline double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

/// Uniform in [0, n) without modulo bias; n >= 1.
inline uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = rng();
  while (x >= limit) x = rng();
  return x % n;
}

}  // namespace nddr::detail
