#include "nddr/report/canvas.h"

#include <algorithm>
#include <cmath>

#include "nddr/report/font.h"

namespace nddr {

namespace {

/// One char per UTF-8 code point: ASCII as it is, anything else as '?', so
/// that "°" is one unknown character and not two.
std::string to_glyphs(const std::string& text) {
  std::string glyphs;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      glyphs += c;
    } else if ((byte & 0xC0) != 0x80) {
      glyphs += '?';
    }
  }
  return glyphs;
}

}  // namespace

Canvas::Canvas(int width, int height, Rgb background)
    : width_(width), height_(height), clip_x1_(width), clip_y1_(height) {
  TORCH_CHECK(width > 0 && height > 0, "Canvas size must be positive, got ", width, "x", height);
  pixels_.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  for (size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = background.r;
    pixels_[i + 1] = background.g;
    pixels_[i + 2] = background.b;
  }
}

Rgb Canvas::pixel(int x, int y) const {
  TORCH_CHECK(x >= 0 && x < width_ && y >= 0 && y < height_, "pixel (", x, ", ", y,
              ") is outside the ", width_, "x", height_, " canvas");
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width_) + x) * 3;
  return {pixels_[i], pixels_[i + 1], pixels_[i + 2]};
}

void Canvas::set_clip(int x, int y, int width, int height) {
  clip_x0_ = std::max(0, x);
  clip_y0_ = std::max(0, y);
  clip_x1_ = std::min(width_, x + width);
  clip_y1_ = std::min(height_, y + height);
}

void Canvas::clear_clip() { set_clip(0, 0, width_, height_); }

void Canvas::set_pixel(int x, int y, Rgb colour) {
  if (x < clip_x0_ || x >= clip_x1_ || y < clip_y0_ || y >= clip_y1_) return;
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width_) + x) * 3;
  pixels_[i] = colour.r;
  pixels_[i + 1] = colour.g;
  pixels_[i + 2] = colour.b;
}

void Canvas::fill_rect(int x, int y, int width, int height, Rgb colour) {
  const int x0 = std::max(x, clip_x0_);
  const int y0 = std::max(y, clip_y0_);
  const int x1 = std::min(x + width, clip_x1_);
  const int y1 = std::min(y + height, clip_y1_);
  for (int row = y0; row < y1; ++row) {
    for (int column = x0; column < x1; ++column) set_pixel(column, row, colour);
  }
}

void Canvas::draw_rect(int x, int y, int width, int height, Rgb colour) {
  fill_rect(x, y, width, 1, colour);
  fill_rect(x, y + height - 1, width, 1, colour);
  fill_rect(x, y, 1, height, colour);
  fill_rect(x + width - 1, y, 1, height, colour);
}

void Canvas::draw_line(double x0, double y0, double x1, double y1, Rgb colour, int thickness) {
  // A square brush of `thickness` pixels, centred on the line.
  const int offset = (thickness - 1) / 2;
  const double dx = x1 - x0;
  const double dy = y1 - y0;
  const double steps = std::ceil(std::max(std::abs(dx), std::abs(dy)));
  // Lines far outside the canvas (a huge zoom) would take forever to step.
  const double limit = 4.0 * (width_ + height_);
  if (!(steps <= limit)) return;
  for (int i = 0; i <= static_cast<int>(steps); ++i) {
    const double t = steps > 0 ? i / steps : 0.0;
    const int x = static_cast<int>(std::lround(x0 + t * dx)) - offset;
    const int y = static_cast<int>(std::lround(y0 + t * dy)) - offset;
    fill_rect(x, y, thickness, thickness, colour);
  }
}

void Canvas::draw_text(int x, int y, const std::string& text, Rgb colour, int scale) {
  int pen = x;
  for (char c : to_glyphs(text)) {
    const auto& rows = font::glyph(c);
    for (int row = 0; row < font::kGlyphHeight; ++row) {
      for (int column = 0; column < font::kGlyphWidth; ++column) {
        if (rows[row] & (1 << (font::kGlyphWidth - 1 - column))) {
          fill_rect(pen + column * scale, y + row * scale, scale, scale, colour);
        }
      }
    }
    pen += font::kAdvance * scale;
  }
}

void Canvas::draw_text_up(int x, int y, const std::string& text, Rgb colour, int scale) {
  // Turned text: a glyph's column c goes up from the baseline, its row r goes
  // right from the left edge.
  int pen = y;
  for (char c : to_glyphs(text)) {
    const auto& rows = font::glyph(c);
    for (int row = 0; row < font::kGlyphHeight; ++row) {
      for (int column = 0; column < font::kGlyphWidth; ++column) {
        if (rows[row] & (1 << (font::kGlyphWidth - 1 - column))) {
          fill_rect(x + row * scale, pen - (column + 1) * scale, scale, scale, colour);
        }
      }
    }
    pen -= font::kAdvance * scale;
  }
}

int Canvas::text_width(const std::string& text, int scale) {
  const auto glyphs = to_glyphs(text);
  if (glyphs.empty()) return 0;
  return (static_cast<int>(glyphs.size()) * font::kAdvance - 1) * scale;
}

int Canvas::text_height(int scale) { return font::kGlyphHeight * scale; }

torch::Tensor Canvas::to_tensor() const {
  return torch::from_blob(const_cast<uint8_t*>(pixels_.data()), {height_, width_, 3}, torch::kUInt8)
      .clone();
}

}  // namespace nddr
