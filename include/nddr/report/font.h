#pragma once
// The built-in bitmap font: 5x7 glyphs (plus 2 rows of descender) for
// printable ASCII, so plots need no font files or libraries.

#include <array>
#include <cstdint>

namespace nddr::font {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 9;  ///< 7 rows above the baseline, 2 below
constexpr int kAdvance = kGlyphWidth + 1;
constexpr int kLineHeight = kGlyphHeight + 1;

/// One glyph: a row per entry, bit 4 is the leftmost pixel.
using Glyph = std::array<uint8_t, kGlyphHeight>;

/// The glyph of a printable ASCII character; any other byte gets '?'.
const Glyph& glyph(char c);

}  // namespace nddr::font
