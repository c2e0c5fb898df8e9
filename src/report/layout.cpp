#include "layout.h"

namespace nddr::layout {

int draw_title(Canvas& canvas, const std::string& title, int left, int width, int top) {
  if (title.empty()) return 0;
  const int text_width = Canvas::text_width(title, kTitleScale);
  canvas.draw_text(left + (width - text_width) / 2, top, title, kTextColour, kTitleScale);
  return Canvas::text_height(kTitleScale) + kMargin;
}

}  // namespace nddr::layout
