#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "layout.h"
#include "nddr/io/image.h"
#include "nddr/report/plot.h"
#include "nddr/util/error.h"

namespace nddr {

using namespace layout;

namespace {

constexpr int kCellPadding = 6;
constexpr int kMinCellWidth = 24;
constexpr int kBarWidth = 14;
constexpr int kMinBarHeight = 80;
constexpr Rgb kLow{255, 255, 255};
constexpr Rgb kHigh{8, 48, 107};  // the dark end of matplotlib's "Blues"
constexpr Rgb kMissing{200, 200, 200};
constexpr Rgb kCellBorder{210, 210, 210};
/// Text on a cell darker than this luminance is drawn white.
constexpr double kDarkLuminance = 140;

Rgb shade(double t) {
  t = std::clamp(t, 0.0, 1.0);
  auto mix = [t](uint8_t low, uint8_t high) {
    return static_cast<uint8_t>(std::lround(low + t * (high - low)));
  };
  return {mix(kLow.r, kHigh.r), mix(kLow.g, kHigh.g), mix(kLow.b, kHigh.b)};
}

Rgb text_on(Rgb background) {
  const double luminance = 0.299 * background.r + 0.587 * background.g + 0.114 * background.b;
  return luminance < kDarkLuminance ? kWhite : kTextColour;
}

std::string format_value(double value, int decimals) {
  if (!std::isfinite(value)) return "-";
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

void validate(const Heatmap& heatmap) {
  const std::string name = "heatmap '" + heatmap.title + "'";
  if (heatmap.values.empty()) throw Error(name + " has no rows");
  if (heatmap.row_labels.size() != heatmap.values.size()) {
    throw Error(name + ": " + std::to_string(heatmap.row_labels.size()) + " row labels for " +
                std::to_string(heatmap.values.size()) + " rows");
  }
  for (size_t r = 0; r < heatmap.values.size(); ++r) {
    if (heatmap.values[r].size() != heatmap.column_labels.size()) {
      throw Error(name + ": row " + std::to_string(r) + " ('" + heatmap.row_labels[r] + "') has " +
                  std::to_string(heatmap.values[r].size()) + " values for " +
                  std::to_string(heatmap.column_labels.size()) + " column labels");
    }
  }
  if (heatmap.column_labels.empty()) throw Error(name + " has no columns");
  if (heatmap.decimals < 0 || heatmap.decimals > 10) {
    throw Error(name + ": decimals must be in [0, 10], got " + std::to_string(heatmap.decimals));
  }
  if (heatmap.min && heatmap.max && *heatmap.min > *heatmap.max) {
    throw Error(name + ": colour scale min " + std::to_string(*heatmap.min) + " is above max " +
                std::to_string(*heatmap.max));
  }
}

int widest(const std::vector<std::string>& texts) {
  int width = 0;
  for (const auto& text : texts) width = std::max(width, Canvas::text_width(text));
  return width;
}

/// A cell grid's (or a colour bar's) place: its top-left corner and a cell's size.
struct Box {
  int left, top, width, height;
};

/// Row labels and the cells, shaded on the scale [low, high].
void draw_cells(Canvas& canvas, const Heatmap& heatmap, const std::vector<std::string>& cell_texts,
                const Box& cell, double low, double high) {
  const size_t columns = heatmap.column_labels.size();
  const double span = high - low;
  for (size_t r = 0; r < heatmap.values.size(); ++r) {
    const int y = cell.top + static_cast<int>(r) * cell.height;
    const auto& label = heatmap.row_labels[r];
    canvas.draw_text(cell.left - kLabelGap - Canvas::text_width(label), y + kCellPadding, label,
                     kTextColour);
    for (size_t c = 0; c < columns; ++c) {
      const int x = cell.left + static_cast<int>(c) * cell.width;
      const double value = heatmap.values[r][c];
      // A flat scale has no direction: every cell takes the middle shade.
      const Rgb fill = !std::isfinite(value) ? kMissing
                       : span > 0            ? shade((value - low) / span)
                                             : shade(0.5);
      canvas.fill_rect(x, y, cell.width, cell.height, fill);
      canvas.draw_rect(x, y, cell.width, cell.height, kCellBorder);
      const auto& text = cell_texts[r * columns + c];
      canvas.draw_text(x + (cell.width - Canvas::text_width(text)) / 2, y + kCellPadding, text,
                       text_on(fill));
    }
  }
}

/// The colour bar, high at the top, labelled with the scale's ends.
void draw_colour_bar(Canvas& canvas, const Box& bar, const std::string& low_text,
                     const std::string& high_text) {
  for (int i = 0; i < bar.height; ++i) {
    const double t = bar.height > 1 ? 1.0 - static_cast<double>(i) / (bar.height - 1) : 1.0;
    canvas.fill_rect(bar.left, bar.top + i, bar.width, 1, shade(t));
  }
  canvas.draw_rect(bar.left, bar.top, bar.width, bar.height, kAxisColour);
  canvas.draw_text(bar.left + bar.width + kLabelGap, bar.top, high_text, kTextColour);
  canvas.draw_text(bar.left + bar.width + kLabelGap, bar.top + bar.height - Canvas::text_height(),
                   low_text, kTextColour);
}

}  // namespace

Canvas render_heatmap(const Heatmap& heatmap) {
  validate(heatmap);
  const size_t rows = heatmap.values.size();
  const size_t columns = heatmap.column_labels.size();
  double low = std::numeric_limits<double>::infinity(), high = -low;
  std::vector<std::string> cell_texts;
  for (const auto& row : heatmap.values) {
    for (double value : row) {
      cell_texts.push_back(format_value(value, heatmap.decimals));
      if (!std::isfinite(value)) continue;
      low = std::min(low, value);
      high = std::max(high, value);
    }
  }
  low = heatmap.min.value_or(std::isfinite(low) ? low : 0.0);
  high = heatmap.max.value_or(std::isfinite(high) ? high : 1.0);
  const std::string low_text = format_value(low, heatmap.decimals);
  const std::string high_text = format_value(high, heatmap.decimals);

  const int text_height = Canvas::text_height();
  const int cell_width = std::max(kMinCellWidth, widest(cell_texts) + 2 * kCellPadding);
  const int cell_height = text_height + 2 * kCellPadding;
  const int column_label_width = widest(heatmap.column_labels);
  const bool upright = column_label_width + kLabelGap > cell_width;
  const int header = (upright ? column_label_width : text_height) + kLabelGap;
  const int row_label_width = widest(heatmap.row_labels);
  const int grid_width = static_cast<int>(columns) * cell_width;
  const int grid_height = static_cast<int>(rows) * cell_height;
  const int bar_height = std::max(grid_height, kMinBarHeight);
  const int bar_label_width = std::max(Canvas::text_width(low_text), Canvas::text_width(high_text));

  const int title_height = heatmap.title.empty() ? 0 : Canvas::text_height(kTitleScale) + kMargin;
  const int left =
      kMargin + (heatmap.y_label.empty() ? 0 : text_height + kMargin) + row_label_width + kLabelGap;
  const int top = kMargin + title_height + header;
  const int bar_left = left + grid_width + 2 * kMargin;
  const int content_width = bar_left + kBarWidth + kLabelGap + bar_label_width + kMargin;
  const int width =
      std::max(content_width, Canvas::text_width(heatmap.title, kTitleScale) + 2 * kMargin);
  const int height = top + std::max(grid_height, bar_height) + kMargin +
                     (heatmap.x_label.empty() ? 0 : text_height + kMargin);

  Canvas canvas(width, height);
  draw_title(canvas, heatmap.title, 0, width, kMargin);
  draw_cells(canvas, heatmap, cell_texts, {left, top, cell_width, cell_height}, low, high);
  for (size_t c = 0; c < columns; ++c) {
    const auto& label = heatmap.column_labels[c];
    const int x = left + static_cast<int>(c) * cell_width;
    if (upright) {
      canvas.draw_text_up(x + (cell_width - text_height) / 2, top - kLabelGap, label, kTextColour);
    } else {
      canvas.draw_text(x + (cell_width - Canvas::text_width(label)) / 2, top - header, label,
                       kTextColour);
    }
  }

  draw_colour_bar(canvas, {bar_left, top, kBarWidth, bar_height}, low_text, high_text);

  if (!heatmap.x_label.empty()) {
    canvas.draw_text(left + (grid_width - Canvas::text_width(heatmap.x_label)) / 2,
                     height - kMargin - text_height, heatmap.x_label, kTextColour);
  }
  if (!heatmap.y_label.empty()) {
    canvas.draw_text_up(kMargin, top + (grid_height + Canvas::text_width(heatmap.y_label)) / 2,
                        heatmap.y_label, kTextColour);
  }
  return canvas;
}

void save_heatmap(const std::string& path, const Heatmap& heatmap) {
  write_png(path, render_heatmap(heatmap).to_tensor());
}

}  // namespace nddr
