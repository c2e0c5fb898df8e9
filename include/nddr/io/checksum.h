#pragma once
// CRC-32 (zlib's polynomial) of file contents: checkpoints and weights files
// carry one of their data, so a flipped bit is found when they are loaded.

#include <cstddef>
#include <cstdint>
#include <string>

namespace nddr {

/// CRC-32 of `size` bytes, continuing from `crc` (0 to start):
///   crc32_update(crc32_update(0, a, n), b, m) == CRC of a followed by b.
uint32_t crc32_update(uint32_t crc, const void* data, size_t size);

/// Eight lowercase hex digits, as stored in files.
std::string crc32_hex(uint32_t crc);

}  // namespace nddr
