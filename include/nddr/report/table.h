#pragma once
// Result tables as Markdown (for docs/ and terminals) and CSV (for
// spreadsheets and scripts). Cells are text: format numbers before adding them.

#include <string>
#include <vector>

namespace nddr {

enum class Align { kLeft, kRight };

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  ///< each as long as the header
  std::vector<Align> align;                    ///< per column; empty means all left
};

/// A GitHub-flavoured Markdown table with columns padded to equal width:
///
///   | method | miou  |
///   | ------ | ----: |
///   | nddr   | 0.412 |
///
/// '|' in a cell is escaped as "\|" and a line break becomes "<br>". A row or
/// `align` whose length differs from the header is an Error.
std::string markdown_table(const Table& table);

/// RFC 4180 CSV text: a field holding a comma, a double quote, a line break
/// or leading/trailing spaces is quoted, with its quotes doubled; lines end
/// with "\n".
std::string csv_text(const Table& table);

/// csv_text written to `path` atomically.
void save_csv(const std::string& path, const Table& table);

}  // namespace nddr
