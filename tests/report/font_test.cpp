#include "nddr/report/font.h"

#include <gtest/gtest.h>

#include <map>

namespace nddr {
namespace {

TEST(Font, EveryPrintableCharacterHasItsOwnGlyph) {
  std::map<font::Glyph, char> seen;
  for (char c = ' '; c <= '~'; ++c) {
    const auto& glyph = font::glyph(c);
    const bool blank = glyph == font::Glyph{};
    EXPECT_EQ(blank, c == ' ') << "'" << c << "'";
    const auto [it, inserted] = seen.emplace(glyph, c);
    EXPECT_TRUE(inserted) << "'" << c << "' looks like '" << it->second << "'";
  }
}

TEST(Font, GlyphsFitTheirBox) {
  for (char c = ' '; c <= '~'; ++c) {
    for (uint8_t row : font::glyph(c)) EXPECT_LT(row, 1 << font::kGlyphWidth) << "'" << c << "'";
  }
  // Only descenders use the two rows under the baseline.
  EXPECT_EQ(font::glyph('A')[7], 0);
  EXPECT_NE(font::glyph('g')[8], 0);
}

TEST(Font, OtherBytesShowAsQuestionMark) {
  EXPECT_EQ(font::glyph('\t'), font::glyph('?'));
  EXPECT_EQ(font::glyph(static_cast<char>(0xC3)), font::glyph('?'));
}

}  // namespace
}  // namespace nddr
