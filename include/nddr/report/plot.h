#pragma once
// PNG charts drawn with the project's own raster (canvas.h) and font: no
// plotting library. Line plots for training curves and ablations, heatmaps for
// confusion matrices and grids of results.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "nddr/report/canvas.h"

namespace nddr {

/// One named curve; points with a non-finite coordinate break the line.
struct Series {
  std::string name;  ///< legend entry; empty leaves it out of the legend
  std::vector<double> x;
  std::vector<double> y;
};

struct LinePlot {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  bool log_x = false;  ///< logarithmic x axis (e.g. a learning-rate multiplier); x must be > 0
  int width = 800;     ///< image size in pixels
  int height = 500;
};

/// Series with at most this many points get a marker at each point.
constexpr size_t kMaxMarkedPoints = 40;

/// Draws a line plot: axes with tick labels and light grid lines, one colour
/// per series (matplotlib's tab10 cycle), the legend to the right of the axes.
/// Errors: x and y of different lengths, no finite point at all, x <= 0 on a
/// log axis (naming the series), a size below 200x150.
Canvas render_line_plot(const LinePlot& plot);
/// render_line_plot written as a PNG (atomically).
void save_line_plot(const std::string& path, const LinePlot& plot);

struct Heatmap {
  std::string title;
  std::string x_label;  ///< under the columns, e.g. "predicted"
  std::string y_label;  ///< beside the rows, e.g. "ground truth"
  std::vector<std::string> row_labels;
  std::vector<std::string> column_labels;
  std::vector<std::vector<double>> values;  ///< [row][column]; NaN shows as "-"
  int decimals = 2;                         ///< digits printed in each cell
  /// Ends of the colour scale; default to the smallest and largest finite value.
  c10::optional<double> min;
  c10::optional<double> max;
};

/// Draws a heatmap: one cell per value, shaded from white (min) to dark blue
/// (max) with the value printed in it, row and column labels (column labels
/// turn upright when wider than a cell), and a colour bar. The image size
/// follows from the content. Errors: label counts not matching the values,
/// ragged rows, no rows.
Canvas render_heatmap(const Heatmap& heatmap);
/// render_heatmap written as a PNG (atomically).
void save_heatmap(const std::string& path, const Heatmap& heatmap);

/// The colour of series `index` in line plots.
Rgb series_colour(size_t index);

}  // namespace nddr
