#include "nddr/report/plot.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "nddr/io/image.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

namespace fs = std::filesystem;

int count(const Canvas& canvas, Rgb colour) {
  int n = 0;
  for (int y = 0; y < canvas.height(); ++y) {
    for (int x = 0; x < canvas.width(); ++x) n += canvas.pixel(x, y) == colour;
  }
  return n;
}

LinePlot curves() {
  LinePlot plot;
  plot.title = "Validation mIoU";
  plot.x_label = "step";
  plot.y_label = "mIoU";
  plot.width = 640;
  plot.height = 400;
  Series nddr{"nddr", {}, {}};
  Series single{"single-task", {}, {}};
  for (int step = 0; step <= 200; step += 10) {
    nddr.x.push_back(step);
    nddr.y.push_back(0.4 * (1 - std::exp(-step / 60.0)));
    single.x.push_back(step);
    single.y.push_back(0.35 * (1 - std::exp(-step / 80.0)));
  }
  plot.series = {nddr, single};
  return plot;
}

class PlotFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() / ("nddr_plot_test_" + std::to_string(::getpid()));
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }
  std::string path(const std::string& name) const { return (directory_ / name).string(); }
  fs::path directory_;
};

TEST_F(PlotFiles, LinePlotPngHasTheSizeAndTheSeriesColours) {
  const auto plot = curves();
  save_line_plot(path("curves.png"), plot);
  auto image = read_image(path("curves.png"));
  ASSERT_EQ(image.sizes(), (std::vector<int64_t>{400, 640, 3}));
  const auto canvas = render_line_plot(plot);
  EXPECT_TRUE(torch::equal(image, canvas.to_tensor()));
  // Each series leaves a line's worth of its colour; the axes are black.
  EXPECT_GT(count(canvas, series_colour(0)), 300);
  EXPECT_GT(count(canvas, series_colour(1)), 300);
  EXPECT_GT(count(canvas, kBlack), 1000);
  EXPECT_EQ(count(canvas, series_colour(2)), 0);
}

TEST(LinePlot, LogAxisAndBrokenLines) {
  LinePlot plot;
  plot.log_x = true;
  plot.series = {{"lr x", {1, 10, 100, 1000}, {30.1, 31.0, std::nan(""), 31.2}}};
  const auto canvas = render_line_plot(plot);
  EXPECT_EQ(canvas.width(), 800);
  EXPECT_GT(count(canvas, series_colour(0)), 100);
}

TEST(LinePlot, ASinglePointGetsAMarkerOnWidenedAxes) {
  LinePlot plot;
  plot.series = {{"only", {3}, {0.5}}};
  const auto canvas = render_line_plot(plot);
  // A 5x5 marker in the plot and a 5x5 one in the legend's swatch.
  EXPECT_GE(count(canvas, series_colour(0)), 2 * 25);
}

TEST(LinePlot, BadInputsAreErrors) {
  LinePlot plot;
  plot.series = {{"a", {1, 2}, {1}}};
  EXPECT_THROW(render_line_plot(plot), Error);
  plot.series = {{"a", {0, 1}, {1, 2}}};
  plot.log_x = true;
  EXPECT_THROW(render_line_plot(plot), Error);
  plot.log_x = false;
  plot.series = {{"a", {1}, {std::nan("")}}};
  EXPECT_THROW(render_line_plot(plot), Error);
  plot.series = {{"a", {1, 2}, {1, 2}}};
  plot.width = 100;
  EXPECT_THROW(render_line_plot(plot), Error);
}

Heatmap confusion() {
  Heatmap heatmap;
  heatmap.title = "Confusion";
  heatmap.x_label = "predicted";
  heatmap.y_label = "ground truth";
  heatmap.row_labels = {"wall", "floor", "bookshelf"};
  heatmap.column_labels = {"wall", "floor", "bookshelf"};
  heatmap.values = {{0.9, 0.05, 0.05}, {0.1, 0.8, std::nan("")}, {0.3, 0.0, 0.7}};
  return heatmap;
}

TEST_F(PlotFiles, HeatmapPngMatchesItsRendering) {
  const auto heatmap = confusion();
  save_heatmap(path("confusion.png"), heatmap);
  const auto canvas = render_heatmap(heatmap);
  auto image = read_image(path("confusion.png"));
  ASSERT_EQ(image.size(0), canvas.height());
  ASSERT_EQ(image.size(1), canvas.width());
  EXPECT_TRUE(torch::equal(image, canvas.to_tensor()));
}

TEST(Heatmap, CellsShadedFromWhiteToDarkBlue) {
  const auto canvas = render_heatmap(confusion());
  // The largest value takes the darkest shade, the smallest stays white, the
  // missing one is grey; cells are at least 24 px wide, so each shade covers
  // a good area.
  EXPECT_GT(count(canvas, Rgb{8, 48, 107}), 200);
  EXPECT_GT(count(canvas, Rgb{200, 200, 200}), 200);
  EXPECT_GT(count(canvas, kBlack), 200);
  EXPECT_GT(count(canvas, kWhite), count(canvas, Rgb{8, 48, 107}));
}

TEST(Heatmap, BadShapesAreErrors) {
  auto heatmap = confusion();
  heatmap.row_labels.pop_back();
  EXPECT_THROW(render_heatmap(heatmap), Error);
  heatmap = confusion();
  heatmap.values[1].pop_back();
  EXPECT_THROW(render_heatmap(heatmap), Error);
  heatmap = confusion();
  heatmap.min = 1.0;
  heatmap.max = 0.0;
  EXPECT_THROW(render_heatmap(heatmap), Error);
}

}  // namespace
}  // namespace nddr
