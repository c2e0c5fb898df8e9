#include "nddr/io/checksum.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <limits>

namespace nddr {

uint32_t crc32_update(uint32_t crc, const void* data, size_t size) {
  // zlib takes 32-bit lengths: feed larger buffers in pieces.
  const auto* bytes = static_cast<const Bytef*>(data);
  uLong value = crc;
  while (size > 0) {
    const auto piece = static_cast<uInt>(std::min<size_t>(size, std::numeric_limits<uInt>::max()));
    value = ::crc32(value, bytes, piece);
    bytes += piece;
    size -= piece;
  }
  return static_cast<uint32_t>(value);
}

std::string crc32_hex(uint32_t crc) {
  char text[9];
  std::snprintf(text, sizeof(text), "%08x", crc);
  return text;
}

}  // namespace nddr
