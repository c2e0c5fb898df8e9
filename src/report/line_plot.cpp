#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "layout.h"
#include "nddr/io/image.h"
#include "nddr/report/axis.h"
#include "nddr/report/plot.h"
#include "nddr/util/error.h"

namespace nddr {

using namespace layout;

namespace {

constexpr int kLineThickness = 2;
constexpr int kMarkerSize = 5;
constexpr int kSwatchLength = 20;
constexpr int kLegendPadding = 8;
constexpr int kLegendRow = 14;
/// Data are drawn this far inside the axes box so that lines on the axis
/// range's ends are not hidden by the box.
constexpr int kInset = 6;
constexpr int kMinPlotSize = 50;

/// matplotlib's tab10: distinct, and readable on white.
const Rgb kTab10[] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                      {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                      {188, 189, 34},  {23, 190, 207}};

bool usable(double x, double y, bool log_x) {
  return std::isfinite(x) && std::isfinite(y) && (!log_x || x > 0);
}

void validate(const LinePlot& plot) {
  if (plot.width < kMinWidth || plot.height < kMinHeight) {
    throw Error("line plot '" + plot.title + "': size " + std::to_string(plot.width) + "x" +
                std::to_string(plot.height) + " is below the minimum " + std::to_string(kMinWidth) +
                "x" + std::to_string(kMinHeight));
  }
  bool any = false;
  for (const auto& series : plot.series) {
    if (series.x.size() != series.y.size()) {
      throw Error("line plot '" + plot.title + "': series '" + series.name + "' has " +
                  std::to_string(series.x.size()) + " x values but " +
                  std::to_string(series.y.size()) + " y values");
    }
    for (size_t i = 0; i < series.x.size(); ++i) {
      if (plot.log_x && series.x[i] <= 0) {
        throw Error("line plot '" + plot.title + "': series '" + series.name + "' has x = " +
                    std::to_string(series.x[i]) + " on a logarithmic axis (x must be > 0)");
      }
      any = any || usable(series.x[i], series.y[i], plot.log_x);
    }
  }
  if (!any) throw Error("line plot '" + plot.title + "' has no finite point to draw");
}

/// Maps data to pixels inside the axes box; x is log10'd on a log axis.
struct Mapping {
  double x0, x1, y0, y1;  // axis ranges (x already transformed)
  int left, top, width, height;
  bool log_x;

  double tx(double x) const { return log_x ? std::log10(x) : x; }
  double px(double x) const {
    return left + kInset + (tx(x) - x0) / (x1 - x0) * (width - 1 - 2 * kInset);
  }
  double py(double y) const {
    return top + kInset + (y1 - y) / (y1 - y0) * (height - 1 - 2 * kInset);
  }
};

void draw_legend(Canvas& canvas, const LinePlot& plot, int left, int top) {
  int width = 0;
  int rows = 0;
  for (const auto& series : plot.series) {
    if (series.name.empty()) continue;
    width = std::max(width, Canvas::text_width(series.name));
    ++rows;
  }
  if (rows == 0) return;
  const int box_width = 2 * kLegendPadding + kSwatchLength + kLabelGap + width;
  const int box_height =
      2 * kLegendPadding + rows * kLegendRow - (kLegendRow - Canvas::text_height());
  canvas.draw_rect(left, top, box_width, box_height, kGridColour);
  int y = top + kLegendPadding;
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const auto& series = plot.series[i];
    if (series.name.empty()) continue;
    const Rgb colour = series_colour(i);
    const int middle = y + Canvas::text_height() / 2 - 1;
    canvas.draw_line(left + kLegendPadding, middle, left + kLegendPadding + kSwatchLength - 1,
                     middle, colour, kLineThickness);
    if (series.x.size() <= kMaxMarkedPoints) {
      canvas.fill_rect(left + kLegendPadding + kSwatchLength / 2 - kMarkerSize / 2,
                       middle - kMarkerSize / 2, kMarkerSize, kMarkerSize, colour);
    }
    canvas.draw_text(left + kLegendPadding + kSwatchLength + kLabelGap, y, series.name,
                     kTextColour);
    y += kLegendRow;
  }
}

int legend_width(const LinePlot& plot) {
  int width = -1;
  for (const auto& series : plot.series) {
    if (!series.name.empty()) width = std::max(width, Canvas::text_width(series.name));
  }
  return width < 0 ? 0 : 2 * kLegendPadding + kSwatchLength + kLabelGap + width;
}

}  // namespace

Rgb series_colour(size_t index) { return kTab10[index % (sizeof(kTab10) / sizeof(kTab10[0]))]; }

namespace {

/// The extent of the plot's usable points.
struct DataRange {
  double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low;
  double y_low = x_low, y_high = -x_low;
};

DataRange data_range(const LinePlot& plot) {
  DataRange range;
  for (const auto& series : plot.series) {
    for (size_t i = 0; i < series.x.size(); ++i) {
      if (!usable(series.x[i], series.y[i], plot.log_x)) continue;
      range.x_low = std::min(range.x_low, series.x[i]);
      range.x_high = std::max(range.x_high, series.x[i]);
      range.y_low = std::min(range.y_low, series.y[i]);
      range.y_high = std::max(range.y_high, series.y[i]);
    }
  }
  return range;
}

/// Grid lines, ticks and tick labels; minor grid lines at 2..9 x each decade
/// on a log axis.
void draw_grid(Canvas& canvas, const LinePlot& plot, const Mapping& map,
               const std::vector<double>& x_ticks, const std::vector<double>& y_ticks,
               const std::function<std::string(double)>& x_label_of, double y_step) {
  const int left = map.left, top = map.top, width = map.width, height = map.height;
  if (plot.log_x) {
    for (size_t i = 0; i + 1 < x_ticks.size(); ++i) {
      for (int k = 2; k <= 9; ++k) {
        const int x = static_cast<int>(std::lround(map.px(k * x_ticks[i])));
        canvas.fill_rect(x, top + 1, 1, height - 2, kMinorGridColour);
        canvas.fill_rect(x, top + height, 1, kTickLength / 2, kAxisColour);
      }
    }
  }
  for (double x : x_ticks) {
    const int px = static_cast<int>(std::lround(map.px(x)));
    canvas.fill_rect(px, top + 1, 1, height - 2, kGridColour);
    canvas.fill_rect(px, top + height, 1, kTickLength, kAxisColour);
    const std::string label = x_label_of(x);
    canvas.draw_text(px - Canvas::text_width(label) / 2, top + height + kTickLength + kLabelGap,
                     label, kTextColour);
  }
  for (double y : y_ticks) {
    const int py = static_cast<int>(std::lround(map.py(y)));
    canvas.fill_rect(left + 1, py, width - 2, 1, kGridColour);
    canvas.fill_rect(left - kTickLength, py, kTickLength, 1, kAxisColour);
    const std::string label = format_tick(y, y_step);
    canvas.draw_text(left - kTickLength - kLabelGap - Canvas::text_width(label),
                     py - Canvas::text_height() / 2 + 1, label, kTextColour);
  }
}

/// Every series as a polyline (broken at unusable points), with markers when
/// it has few points, clipped to the inside of the axes box.
void draw_series(Canvas& canvas, const LinePlot& plot, const Mapping& map) {
  canvas.set_clip(map.left + 1, map.top + 1, map.width - 2, map.height - 2);
  for (size_t s = 0; s < plot.series.size(); ++s) {
    const auto& series = plot.series[s];
    const Rgb colour = series_colour(s);
    const bool markers = series.x.size() <= kMaxMarkedPoints;
    bool have_previous = false;
    double previous_x = 0, previous_y = 0;
    for (size_t i = 0; i < series.x.size(); ++i) {
      if (!usable(series.x[i], series.y[i], plot.log_x)) {
        have_previous = false;
        continue;
      }
      const double x = map.px(series.x[i]);
      const double y = map.py(series.y[i]);
      if (have_previous) canvas.draw_line(previous_x, previous_y, x, y, colour, kLineThickness);
      if (markers) {
        canvas.fill_rect(static_cast<int>(std::lround(x)) - kMarkerSize / 2,
                         static_cast<int>(std::lround(y)) - kMarkerSize / 2, kMarkerSize,
                         kMarkerSize, colour);
      }
      previous_x = x;
      previous_y = y;
      have_previous = true;
    }
  }
  canvas.clear_clip();
}

}  // namespace

Canvas render_line_plot(const LinePlot& plot) {
  validate(plot);
  const DataRange range = data_range(plot);
  const auto y_ticks = nice_ticks(range.y_low, range.y_high, 5);
  const auto x_ticks =
      plot.log_x ? log_ticks(range.x_low, range.x_high) : nice_ticks(range.x_low, range.x_high, 6);
  const double y_step = y_ticks[1] - y_ticks[0];
  const double x_step = x_ticks[1] - x_ticks[0];
  auto x_label_of = [&](double x) { return format_tick(x, plot.log_x ? x : x_step); };

  int y_label_width = 0;
  for (double y : y_ticks)
    y_label_width = std::max(y_label_width, Canvas::text_width(format_tick(y, y_step)));
  const int text_height = Canvas::text_height();
  const int legend = legend_width(plot);

  Canvas canvas(plot.width, plot.height);
  const int top = kMargin + draw_title(canvas, plot.title, 0, plot.width, kMargin);
  const int left = kMargin + (plot.y_label.empty() ? 0 : text_height + kMargin) + y_label_width +
                   kLabelGap + kTickLength;
  const int bottom = kMargin + (plot.x_label.empty() ? 0 : text_height + kMargin / 2) +
                     text_height + kLabelGap + kTickLength;
  const int last_label_half = Canvas::text_width(x_label_of(x_ticks.back())) / 2;
  const int right = legend > 0 ? 2 * kMargin + legend : kMargin + last_label_half;
  const int width = plot.width - left - right;
  const int height = plot.height - top - bottom;
  if (width < kMinPlotSize || height < kMinPlotSize) {
    throw Error("line plot '" + plot.title + "': " + std::to_string(plot.width) + "x" +
                std::to_string(plot.height) + " leaves no room for the axes beside the labels " +
                "and legend");
  }
  const Mapping map{plot.log_x ? std::log10(x_ticks.front()) : x_ticks.front(),
                    plot.log_x ? std::log10(x_ticks.back()) : x_ticks.back(),
                    y_ticks.front(),
                    y_ticks.back(),
                    left,
                    top,
                    width,
                    height,
                    plot.log_x};
  draw_grid(canvas, plot, map, x_ticks, y_ticks, x_label_of, y_step);
  draw_series(canvas, plot, map);
  canvas.draw_rect(left, top, width, height, kAxisColour);

  if (!plot.x_label.empty()) {
    canvas.draw_text(left + (width - Canvas::text_width(plot.x_label)) / 2,
                     plot.height - kMargin - text_height, plot.x_label, kTextColour);
  }
  if (!plot.y_label.empty()) {
    canvas.draw_text_up(kMargin, top + (height + Canvas::text_width(plot.y_label)) / 2,
                        plot.y_label, kTextColour);
  }
  draw_legend(canvas, plot, left + width + kMargin, top);
  return canvas;
}

void save_line_plot(const std::string& path, const LinePlot& plot) {
  write_png(path, render_line_plot(plot).to_tensor());
}

}  // namespace nddr
