#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "manifest_table.h"
#include "nddr/util/error.h"

namespace nddr::detail {

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
    try {
      object = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& error) {
      throw Error(where + ": invalid JSON: " + error.what());
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
        throw Error(where + ", key '" + key + "': expected a string, a number or null, got " +
                    value.dump());
      }
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace nddr::detail
