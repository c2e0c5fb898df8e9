#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nddr {

/// Levenshtein distance, used to suggest the valid name closest to a typo.
size_t edit_distance(const std::string& a, const std::string& b);

/// The candidate closest to `name`, or "" when none is close enough to be a
/// plausible typo (distance above a third of the name's length, at least 2).
std::string closest_match(const std::string& name, const std::vector<std::string>& candidates);

/// " (did you mean 'x'?)" for a close candidate, else "".
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates);

/// Joins with a separator: join({"a","b"}, ", ") == "a, b".
std::string join(const std::vector<std::string>& parts, const std::string& separator);

/// Splits on a single character; empty fields are kept.
std::vector<std::string> split(const std::string& text, char separator);

/// Whether `text` begins with `prefix` / ends with `suffix`.
bool starts_with(const std::string& text, const std::string& prefix);
bool ends_with(const std::string& text, const std::string& suffix);

/// The value of a small plain decimal count, "0" to "99999" (digits only: no
/// sign, space, point or exponent), else nullopt. For counts read from
/// command-line text, where std::stoi would accept "2abc" or " -1".
std::optional<int64_t> parse_small_count(const std::string& text);

}  // namespace nddr
