#include "nddr/report/table.h"

#include <algorithm>

#include "nddr/io/atomic_file.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

void validate(const Table& table) {
  if (table.header.empty()) throw Error("table has no columns");
  const size_t columns = table.header.size();
  if (!table.align.empty() && table.align.size() != columns) {
    throw Error("table has " + std::to_string(columns) + " columns but " +
                std::to_string(table.align.size()) + " alignments");
  }
  for (size_t r = 0; r < table.rows.size(); ++r) {
    if (table.rows[r].size() != columns) {
      throw Error("table row " + std::to_string(r) + " has " +
                  std::to_string(table.rows[r].size()) + " cells for " + std::to_string(columns) +
                  " columns");
    }
  }
}

/// Width as shown: UTF-8 continuation bytes take no column.
size_t display_width(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string markdown_cell(const std::string& text) {
  std::string cell;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '|') {
      cell += "\\|";
    } else if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;  // the \n that follows makes the break
    } else if (text[i] == '\n' || text[i] == '\r') {
      cell += "<br>";
    } else {
      cell += text[i];
    }
  }
  return cell;
}

std::string pad(const std::string& text, size_t width, Align align) {
  const std::string fill(width - std::min(width, display_width(text)), ' ');
  return align == Align::kRight ? fill + text : text + fill;
}

std::string csv_field(const std::string& text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return text;
  std::string field = "\"";
  for (char c : text) {
    if (c == '"') field += '"';
    field += c;
  }
  return field + "\"";
}

}  // namespace

std::string markdown_table(const Table& table) {
  validate(table);
  const size_t columns = table.header.size();
  std::vector<std::vector<std::string>> cells;
  cells.reserve(table.rows.size() + 1);
  std::vector<std::string> header;
  for (const auto& text : table.header) header.push_back(markdown_cell(text));
  cells.push_back(header);
  for (const auto& row : table.rows) {
    std::vector<std::string> escaped;
    for (const auto& text : row) escaped.push_back(markdown_cell(text));
    cells.push_back(escaped);
  }
  // A separator needs at least three dashes.
  std::vector<size_t> widths(columns, 3);
  for (const auto& row : cells) {
    for (size_t c = 0; c < columns; ++c) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  auto align_of = [&](size_t c) { return table.align.empty() ? Align::kLeft : table.align[c]; };
  auto line = [&](const std::vector<std::string>& row) {
    std::string text = "|";
    for (size_t c = 0; c < columns; ++c) text += " " + pad(row[c], widths[c], align_of(c)) + " |";
    return text + "\n";
  };
  std::string text = line(cells[0]);
  text += "|";
  for (size_t c = 0; c < columns; ++c) {
    const bool right = align_of(c) == Align::kRight;
    text += " " + std::string(widths[c] - (right ? 1 : 0), '-') + (right ? ":" : "") + " |";
  }
  text += "\n";
  for (size_t r = 1; r < cells.size(); ++r) text += line(cells[r]);
  return text;
}

std::string csv_text(const Table& table) {
  validate(table);
  std::string text;
  auto add_line = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) text += (c > 0 ? "," : "") + csv_field(row[c]);
    text += "\n";
  };
  add_line(table.header);
  for (const auto& row : table.rows) add_line(row);
  return text;
}

void save_csv(const std::string& path, const Table& table) {
  const std::string text = csv_text(table);
  write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

}  // namespace nddr
