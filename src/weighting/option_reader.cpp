#include "option_reader.h"

#include <algorithm>

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

const std::string* WeightingOptionReader::find(const std::string& key) {
  keys_.insert(key);
  auto it = spec_.options.find(key);
  return it == spec_.options.end() ? nullptr : &it->second;
}

void WeightingOptionReader::fail(const std::string& key, const std::string& value,
                                 const std::string& expected) const {
  throw Error("train.weighting_options." + key + " of method '" + spec_.method + "': expected " +
              expected + ", got '" + value + "'");
}

double WeightingOptionReader::real(const std::string& key, double fallback, double minimum,
                                   bool strict) {
  const auto* found = find(key);
  if (!found) return fallback;
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(*found, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string bound = (strict ? "> " : ">= ") + std::to_string(minimum);
  if (used == 0 || used != found->size() || !std::isfinite(value)) {
    fail(key, *found, "a number " + bound);
  }
  if (strict ? !(value > minimum) : !(value >= minimum)) fail(key, *found, "a number " + bound);
  return value;
}

int64_t WeightingOptionReader::integer(const std::string& key, int64_t fallback, int64_t minimum) {
  const auto* found = find(key);
  if (!found) return fallback;
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(*found, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != found->size() || value < minimum) {
    fail(key, *found, "an integer >= " + std::to_string(minimum));
  }
  return value;
}

bool WeightingOptionReader::flag(const std::string& key, bool fallback) {
  const auto* found = find(key);
  if (!found) return fallback;
  if (*found == "true") return true;
  if (*found == "false") return false;
  fail(key, *found, "true or false");
}

std::string WeightingOptionReader::choice(const std::string& key, const std::string& fallback,
                                          const std::vector<std::string>& choices) {
  const auto* found = find(key);
  if (!found) return fallback;
  if (std::find(choices.begin(), choices.end(), *found) == choices.end()) {
    fail(key, *found, "one of " + join(choices, ", ") + did_you_mean(*found, choices));
  }
  return *found;
}

void WeightingOptionReader::finish() const {
  const std::vector<std::string> valid(keys_.begin(), keys_.end());
  for (const auto& option : spec_.options) {
    if (keys_.count(option.first) == 0) {
      throw Error("train.weighting_options: method '" + spec_.method + "' has no option '" +
                  option.first + "'" + did_you_mean(option.first, valid) +
                  "; valid: " + (valid.empty() ? std::string("none") : join(valid, ", ")));
    }
  }
}

}  // namespace nddr
