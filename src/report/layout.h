#pragma once
// Spacing and colours shared by the charts, so they look alike.

#include "nddr/report/canvas.h"

namespace nddr::layout {

constexpr int kMargin = 12;  ///< around the image and between blocks
constexpr int kTickLength = 4;
constexpr int kLabelGap = 4;    ///< between a tick (or cell) and its label
constexpr int kTitleScale = 2;  ///< titles are drawn at twice the font size
constexpr int kMinWidth = 200;
constexpr int kMinHeight = 150;

constexpr Rgb kAxisColour{0, 0, 0};
constexpr Rgb kGridColour{225, 225, 225};
constexpr Rgb kMinorGridColour{242, 242, 242};
constexpr Rgb kTextColour{0, 0, 0};

/// Draws `title` centred over [left, left + width) with its top at `top`;
/// returns the height it took, margin below included (0 for an empty title).
int draw_title(Canvas& canvas, const std::string& title, int left, int width, int top);

}  // namespace nddr::layout
