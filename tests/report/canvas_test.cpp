#include "nddr/report/canvas.h"

#include <gtest/gtest.h>

#include "nddr/report/font.h"

namespace nddr {
namespace {

constexpr Rgb kRed{255, 0, 0};

int count(const Canvas& canvas, Rgb colour) {
  int n = 0;
  for (int y = 0; y < canvas.height(); ++y) {
    for (int x = 0; x < canvas.width(); ++x) n += canvas.pixel(x, y) == colour;
  }
  return n;
}

TEST(Canvas, LinesCoverEveryStepAndTheirEnds) {
  Canvas canvas(20, 10);
  canvas.draw_line(2, 3, 12, 3, kRed);
  EXPECT_EQ(count(canvas, kRed), 11);
  EXPECT_EQ(canvas.pixel(2, 3), kRed);
  EXPECT_EQ(canvas.pixel(12, 3), kRed);
  Canvas diagonal(20, 20);
  diagonal.draw_line(0, 0, 9, 9, kRed, 2);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(diagonal.pixel(i, i), kRed) << i;
  EXPECT_EQ(diagonal.pixel(9, 0), kWhite);
}

TEST(Canvas, RectanglesAndClipping) {
  Canvas canvas(10, 10);
  canvas.set_clip(0, 0, 5, 10);
  canvas.fill_rect(-3, 2, 20, 2, kRed);  // clipped to x in [0, 5)
  EXPECT_EQ(count(canvas, kRed), 10);
  canvas.clear_clip();
  canvas.draw_rect(0, 5, 10, 5, kBlack);
  EXPECT_EQ(count(canvas, kBlack), 2 * 10 + 2 * 3);
  EXPECT_EQ(canvas.pixel(5, 7), kWhite);
}

TEST(Canvas, TextInksItsGlyphs) {
  Canvas canvas(40, 20);
  canvas.draw_text(1, 2, "1", kBlack);
  int ink = 0;
  for (uint8_t row : font::glyph('1')) ink += __builtin_popcount(row);
  EXPECT_EQ(count(canvas, kBlack), ink);
  // Top-left pixel of '1' is blank, its stem (column 2) starts on row 0.
  EXPECT_EQ(canvas.pixel(1, 2), kWhite);
  EXPECT_EQ(canvas.pixel(3, 2), kBlack);

  Canvas big(40, 30);
  big.draw_text(0, 0, "1", kBlack, 2);
  EXPECT_EQ(count(big, kBlack), 4 * ink);

  EXPECT_EQ(Canvas::text_width("ab"), 2 * font::kAdvance - 1);
  EXPECT_EQ(Canvas::text_width("a\xC2\xB0"), Canvas::text_width("a?"));  // one code point
  EXPECT_EQ(Canvas::text_width(""), 0);
}

TEST(Canvas, UprightTextIsTheGlyphTurned) {
  Canvas canvas(20, 20);
  canvas.draw_text_up(2, 15, "L", kBlack);
  // 'L' has its stem in column 0 (rows 0-6) and its foot on row 6: turned
  // counter-clockwise the stem lies along y = 14 and the foot along x = 8.
  for (int row = 0; row < 7; ++row) EXPECT_EQ(canvas.pixel(2 + row, 14), kBlack) << row;
  for (int column = 0; column < 5; ++column) EXPECT_EQ(canvas.pixel(8, 14 - column), kBlack);
  EXPECT_EQ(canvas.pixel(2, 13), kWhite);
}

TEST(Canvas, TensorIsHeightWidthRgb) {
  Canvas canvas(3, 2, kBlack);
  canvas.set_pixel(2, 1, kRed);
  auto image = canvas.to_tensor();
  ASSERT_EQ(image.sizes(), (std::vector<int64_t>{2, 3, 3}));
  EXPECT_EQ(image[1][2][0].item<int>(), 255);
  EXPECT_EQ(image[1][2][1].item<int>(), 0);
  EXPECT_EQ(image[0][0][0].item<int>(), 0);
}

}  // namespace
}  // namespace nddr
