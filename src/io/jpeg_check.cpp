#include "jpeg_check.h"

#include <algorithm>

namespace nddr::io_detail {

namespace {

constexpr int kMaxHuffmanCodes = 256;

bool is_standalone(uint8_t marker) {
  return marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7);
}

// The tables of one DHT segment [begin, end) of a file of `size` bytes:
// each is a class/id byte, 16 code counts, then as many symbols as the
// counts add up to.
std::string dht_problem(const uint8_t* data, size_t begin, size_t end, size_t size) {
  size_t pos = begin;
  while (pos < end) {
    // The decoder reads a table's counts even past the segment's end, and
    // zeros past the end of the file.
    int codes = 0;
    for (size_t i = 1; i <= 16 && pos + i < size; ++i) codes += data[pos + i];
    if (codes > kMaxHuffmanCodes) {
      return "a Huffman table has " + std::to_string(codes) + " codes, at most " +
             std::to_string(kMaxHuffmanCodes);
    }
    pos += 17 + static_cast<size_t>(codes);
  }
  return "";
}

}  // namespace

std::string jpeg_table_problem(const uint8_t* data, size_t size) {
  if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) return "";
  size_t pos = 2;
  while (pos + 4 <= size) {
    if (data[pos] != 0xFF) {
      ++pos;  // entropy-coded data between markers
      continue;
    }
    const uint8_t marker = data[pos + 1];
    // 0xFF00 is a stuffed byte of scan data, 0xFFFF a fill byte.
    if (marker == 0x00 || marker == 0xFF || is_standalone(marker)) {
      pos += marker == 0xFF ? 1 : 2;
      continue;
    }
    if (marker == 0xD9) return "";
    const size_t length = (static_cast<size_t>(data[pos + 2]) << 8) | data[pos + 3];
    if (length < 2) return "";  // the decoder rejects this itself
    // A truncated segment is still parsed by the decoder as far as it goes.
    const size_t end = std::min(pos + 2 + length, size);
    if (marker == 0xC4) {
      const std::string problem = dht_problem(data, pos + 4, end, size);
      if (!problem.empty()) return problem;
    }
    pos = end;
  }
  return "";
}

}  // namespace nddr::io_detail
