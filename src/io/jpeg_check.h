#pragma once
// A check of JPEG structure that the decoder (stb_image 2.27, as Debian
// ships it) skips: a Huffman table (DHT segment) may hold at most 256 codes,
// and stb writes more than that past the end of its tables, a heap overflow
// found by fuzzing. Later stb versions reject such tables themselves.

#include <cstddef>
#include <cstdint>
#include <string>

namespace nddr::io_detail {

/// "" for a file that is not a JPEG or whose Huffman tables are in bounds,
/// else what is wrong ("a Huffman table has 300 codes, at most 256").
std::string jpeg_table_problem(const uint8_t* data, size_t size);

}  // namespace nddr::io_detail
