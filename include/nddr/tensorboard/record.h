#pragma once
// The record framing of TensorBoard event files (TFRecord): each record is
// its length as uint64 little-endian, the masked CRC-32C of those 8 bytes,
// the data, and the masked CRC-32C of the data.

#include <cstddef>
#include <cstdint>
#include <string>

namespace nddr::tensorboard {

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses:
/// crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t size);

/// The masked form stored in records: rotate right by 15, add 0xa282ead8.
uint32_t mask_crc(uint32_t crc);

/// `data` framed as one record.
std::string frame_record(const std::string& data);

}  // namespace nddr::tensorboard
