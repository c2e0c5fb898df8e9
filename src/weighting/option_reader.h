#pragma once
// Reads a weighting spec's text options into typed values, each keeping its
// default when omitted. The keys a factory reads are the ones it accepts:
// finish() rejects the rest, naming the method and the closest valid key.

#include <set>
#include <string>

#include "nddr/weighting/weighting.h"

namespace nddr {

class WeightingOptionReader {
 public:
  explicit WeightingOptionReader(const WeightingSpec& spec) : spec_(spec) {}

  /// A number; `minimum` (exclusive when `strict`) bounds it.
  double real(const std::string& key, double fallback, double minimum, bool strict);
  int64_t integer(const std::string& key, int64_t fallback, int64_t minimum);
  /// true or false.
  bool flag(const std::string& key, bool fallback);
  /// One of `choices`.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& choices);
  /// Error for the first option no read asked for.
  void finish() const;

 private:
  const std::string* find(const std::string& key);
  [[noreturn]] void fail(const std::string& key, const std::string& value,
                         const std::string& expected) const;

  const WeightingSpec& spec_;
  std::set<std::string> keys_;
};

}  // namespace nddr
