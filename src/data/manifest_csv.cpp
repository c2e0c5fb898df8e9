#include <algorithm>
#include <fstream>

#include "manifest_table.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr::detail {

namespace {

constexpr char kUtf8Bom[] = "\xEF\xBB\xBF";

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// Splits one CSV line; quoted fields keep their spaces and commas.
std::vector<std::string> split_csv_line(const std::string& text, const std::string& where) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::string field;
    if (i < text.size() && text[i] == '"') {
      ++i;
      while (true) {
        if (i >= text.size()) throw Error(where + ": unterminated quoted field");
        if (text[i] == '"' && i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          i += 2;
        } else if (text[i] == '"') {
          ++i;
          break;
        } else {
          field += text[i++];
        }
      }
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
      if (i < text.size() && text[i] != ',') {
        throw Error(where + ": text after a closing quote, expected ','");
      }
    } else {
      const auto comma = std::min(text.find(',', i), text.size());
      field = trim(text.substr(i, comma - i));
      i = comma;
    }
    fields.push_back(field);
    if (i >= text.size()) return fields;
    ++i;  // the comma
  }
}

}  // namespace

ManifestTable read_csv_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open manifest '" + path + "'");
  ManifestTable table;
  table.field_word = "column";
  std::string text;
  bool has_header = false;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    // Spreadsheet programs start UTF-8 CSV files with a byte order mark.
    if (line == 1 && starts_with(text, kUtf8Bom)) text.erase(0, sizeof(kUtf8Bom) - 1);
    if (trim(text).empty()) continue;
    const std::string where = "manifest '" + path + "' line " + std::to_string(line);
    auto fields = split_csv_line(text, where);
    if (!has_header) {
      for (const auto& name : fields) {
        if (name.empty()) throw Error(where + ": the header has an empty column name");
        if (std::count(fields.begin(), fields.end(), name) > 1) {
          throw Error(where + ": the header names column '" + name + "' twice");
        }
      }
      table.fields = fields;
      has_header = true;
      continue;
    }
    if (fields.size() != table.fields.size()) {
      throw Error(where + ": " + std::to_string(fields.size()) + " fields, but the header has " +
                  std::to_string(table.fields.size()));
    }
    ManifestRow row;
    row.line = line;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!fields[i].empty()) row.cells[table.fields[i]] = {fields[i], false};
    }
    table.rows.push_back(std::move(row));
  }
  if (!has_header) throw Error("manifest '" + path + "' is empty: expected a header row");
  return table;
}

}  // namespace nddr::detail
