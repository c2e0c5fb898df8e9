#pragma once
// A small RGB raster with the drawing the plots need: rectangles, thick
// lines, and text in the built-in font. Coordinates are pixels, origin top
// left, x to the right, y down.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nddr {

struct Rgb {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;
  bool operator==(const Rgb& other) const { return r == other.r && g == other.g && b == other.b; }
  bool operator!=(const Rgb& other) const { return !(*this == other); }
};

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kBlack{0, 0, 0};

class Canvas {
 public:
  /// A width x height canvas filled with `background`.
  Canvas(int width, int height, Rgb background = kWhite);

  int width() const { return width_; }
  int height() const { return height_; }
  Rgb pixel(int x, int y) const;

  /// Restricts drawing to a rectangle (e.g. a plot's data area) until
  /// clear_clip(); pixels outside the canvas are always skipped.
  void set_clip(int x, int y, int width, int height);
  void clear_clip();

  void set_pixel(int x, int y, Rgb colour);
  void fill_rect(int x, int y, int width, int height, Rgb colour);
  /// A 1-pixel outline just inside the rectangle.
  void draw_rect(int x, int y, int width, int height, Rgb colour);
  /// A line of `thickness` pixels between two points (sub-pixel positions are
  /// rounded), stepping one pixel at a time along the longer axis.
  void draw_line(double x0, double y0, double x1, double y1, Rgb colour, int thickness = 1);

  /// Text with its top-left corner at (x, y); `scale` enlarges each font pixel
  /// to scale x scale. Characters outside printable ASCII show as '?' (one
  /// per UTF-8 code point).
  void draw_text(int x, int y, const std::string& text, Rgb colour, int scale = 1);
  /// Text turned 90 degrees counter-clockwise, read bottom to top (y-axis
  /// labels); (x, y) is the bottom-left corner of the turned text.
  void draw_text_up(int x, int y, const std::string& text, Rgb colour, int scale = 1);

  /// Size in pixels of `text` at `scale` (one line).
  static int text_width(const std::string& text, int scale = 1);
  static int text_height(int scale = 1);

  /// The pixels as uint8 [height, width, 3], e.g. for io's write_png.
  torch::Tensor to_tensor() const;

 private:
  int width_;
  int height_;
  int clip_x0_ = 0;
  int clip_y0_ = 0;
  int clip_x1_;
  int clip_y1_;
  std::vector<uint8_t> pixels_;
};

}  // namespace nddr
