#pragma once
// Byte-order helpers shared by the npy and safetensors readers (internal).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

namespace nddr::io_detail {

inline bool host_is_little_endian() {
  const uint16_t probe = 1;
  uint8_t first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

/// Reverses the bytes of each `item_size`-byte element of `data` in place.
inline void swap_bytes(void* data, int64_t count, int64_t item_size) {
  if (item_size <= 1) return;
  auto* bytes = static_cast<uint8_t*>(data);
  for (int64_t i = 0; i < count; ++i) {
    std::reverse(bytes + i * item_size, bytes + (i + 1) * item_size);
  }
}

/// Reads an unsigned little-endian integer of `size` bytes.
inline uint64_t read_little_endian(const char* data, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(data[i]);
  return value;
}

/// Appends `value` as `size` little-endian bytes.
inline void append_little_endian(std::string& out, uint64_t value, int size) {
  for (int i = 0; i < size; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace nddr::io_detail
