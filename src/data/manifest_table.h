#pragma once
// A manifest file read into rows of raw cells, before the cells are checked
// against the tasks: CSV and JSONL differ only up to here.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nddr::detail {

/// A cell as written: CSV text or a JSON string (number = false), or a JSON
/// number's text (number = true).
struct ManifestCell {
  std::string text;
  bool number = false;
};

struct ManifestRow {
  int64_t line = 0;
  /// Empty CSV cells, missing JSON keys and JSON nulls are absent.
  std::map<std::string, ManifestCell> cells;
};

struct ManifestTable {
  /// "column" (CSV) or "key" (JSONL), for error messages.
  std::string field_word;
  /// Every column of the header, or every key of any line.
  std::vector<std::string> fields;
  std::vector<ManifestRow> rows;
};

/// A header row naming the fields, then one row per sample; fields may be
/// double-quoted ("" is a quote); blank lines are skipped. Error naming the
/// file and line for a wrong field count, a repeated header name or an
/// unterminated quote.
ManifestTable read_csv_manifest(const std::string& path);

/// One JSON object per line of string, number or null values; blank lines are
/// skipped. Error naming the file, line and key otherwise.
ManifestTable read_jsonl_manifest(const std::string& path);

}  // namespace nddr::detail
