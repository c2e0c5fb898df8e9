// Range checks of numeric config keys, driven by the schema: Config::set runs
// value_problem on every value it stores, so a key added to the schema is
// checked without further code.

#include <algorithm>
#include <cmath>
#include <sstream>

#include "nddr/config/config.h"

namespace nddr {

namespace {

constexpr double kDefaultIntMax = 1e9;
constexpr double kDefaultNumberLimit = 1e9;

std::string format_bound(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string describe_range(const Range& range) {
  const bool has_min = std::isfinite(range.min);
  const bool has_max = std::isfinite(range.max);
  if (has_min && has_max) {
    return std::string(range.min_open ? "in (" : "in [") + format_bound(range.min) + ", " +
           format_bound(range.max) + (range.max_open ? ")" : "]");
  }
  if (has_min) return std::string(range.min_open ? "> " : ">= ") + format_bound(range.min);
  if (has_max) return std::string(range.max_open ? "< " : "<= ") + format_bound(range.max);
  return "";
}

bool in_range(const Range& range, double value) {
  if (range.min_open ? !(value > range.min) : !(value >= range.min)) return false;
  if (range.max_open ? !(value < range.max) : !(value <= range.max)) return false;
  return true;
}

bool is_integer_type(ValueType type) {
  return type == ValueType::kInt || type == ValueType::kIntList;
}

// "" when one scalar fits, else what is expected.
std::string scalar_problem(const KeySpec& spec, const Range& range, const YAML::Node& value) {
  const bool integer = is_integer_type(spec.type);
  const double number = integer ? static_cast<double>(value.as<int64_t>()) : value.as<double>();
  const std::string what = integer ? "an integer" : "a finite number";
  const std::string bounds = describe_range(range);
  if (!std::isfinite(number) || !in_range(range, number)) {
    return bounds.empty() ? what : what + " " + bounds;
  }
  return "";
}

}  // namespace

Range between(double min, double max) { return Range{min, max, false, false, true}; }
Range from_below(double min, double max) { return Range{min, max, false, true, true}; }
Range above(double min, double max) { return Range{min, max, true, false, true}; }

Range effective_range(const KeySpec& spec) {
  if (spec.range.given) return spec.range;
  if (is_integer_type(spec.type)) return between(0, kDefaultIntMax);
  return between(-kDefaultNumberLimit, kDefaultNumberLimit);
}

std::string value_problem(const KeySpec& spec, const YAML::Node& value) {
  switch (spec.type) {
    case ValueType::kInt:
    case ValueType::kDouble: {
      const std::string problem = scalar_problem(spec, effective_range(spec), value);
      if (!problem.empty()) return problem;
      break;
    }
    case ValueType::kIntList:
    case ValueType::kDoubleList:
      for (const auto& item : value) {
        const std::string problem = scalar_problem(spec, effective_range(spec), item);
        if (!problem.empty()) return "a list whose every element is " + problem;
      }
      break;
    default:
      break;
  }
  return spec.check ? spec.check(value) : "";
}

}  // namespace nddr
