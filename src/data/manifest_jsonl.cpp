#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "manifest_table.h"
#include "nddr/util/error.h"

namespace nddr::detail {

namespace {

constexpr int kMaxDepth = 8;
constexpr size_t kMaxQuoted = 80;

// A message quotes at most kMaxQuoted characters of the file.
std::string shortened(const std::string& text) {
  if (text.size() <= kMaxQuoted) return text;
  return text.substr(0, kMaxQuoted) + "... (" + std::to_string(text.size()) + " characters)";
}

}  // namespace

ManifestTable read_jsonl_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open manifest '" + path + "'");
  ManifestTable table;
  table.field_word = "key";
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "manifest '" + path + "' line " + std::to_string(line);
    nlohmann::json object;
    // Values are scalars: the object and its values are depth 1 and 2. The
    // bound stops a pathological line long before the recursive destructor
    // and printer of nlohmann::json could exhaust the stack.
    const auto bounded = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > kMaxDepth) {
        throw Error(where + ": JSON nested deeper than " + std::to_string(kMaxDepth) +
                    " levels; expected an object of strings, numbers or nulls");
      }
      return true;
    };
    try {
      object = nlohmann::json::parse(text, bounded);
    } catch (const nlohmann::json::exception& error) {
      // parse_error, and out_of_range for a number beyond double ("1e999").
      throw Error(where + ": invalid JSON: " + shortened(error.what()));
    }
    if (!object.is_object()) throw Error(where + ": expected a JSON object {\"image\": ...}");
    ManifestRow row;
    row.line = line;
    for (const auto& [key, value] : object.items()) {
      if (std::find(table.fields.begin(), table.fields.end(), key) == table.fields.end()) {
        table.fields.push_back(key);
      }
      if (value.is_null()) continue;
      if (value.is_string()) {
        row.cells[key] = {value.get<std::string>(), false};
      } else if (value.is_number()) {
        row.cells[key] = {value.dump(), true};
      } else {
        throw Error(where + ", key '" + shortened(key) +
                    "': expected a string, a number or null, got " + shortened(value.dump()));
      }
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace nddr::detail
