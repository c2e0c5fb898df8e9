#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "nddr/tensorboard/record.h"

namespace nddr::tensorboard {
namespace {

uint32_t read_u32(const std::string& bytes, size_t at) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

TEST(Crc32c, PublishedCheckValue) {
  // The CRC catalogue's check value of CRC-32C (iSCSI, Castagnoli).
  const std::string text = "123456789";
  EXPECT_EQ(crc32c(text.data(), text.size()), 0xE3069283u);
}

TEST(Crc32c, KnownVectorsOfRfc3720) {
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, and of 0xff.
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  const std::string ones(32, '\xff');
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(crc32c(nullptr, 0), 0u);
}

TEST(MaskCrc, RotatesRightBy15AndAddsTheDelta) {
  EXPECT_EQ(mask_crc(0), 0xa282ead8u);
  // 0x00008000 rotated right by 15 is 1.
  EXPECT_EQ(mask_crc(0x00008000u), 0xa282ead9u);
  const uint32_t crc = 0xE3069283u;
  EXPECT_EQ(mask_crc(crc), static_cast<uint32_t>(((crc >> 15) | (crc << 17)) + 0xa282ead8u));
}

TEST(FrameRecord, LengthCrcDataCrc) {
  const std::string data = "hello, events";
  const std::string record = frame_record(data);
  ASSERT_EQ(record.size(), 8 + 4 + data.size() + 4);
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(record[i]);
  EXPECT_EQ(length, data.size());
  EXPECT_EQ(read_u32(record, 8), mask_crc(crc32c(record.data(), 8)));
  EXPECT_EQ(record.substr(12, data.size()), data);
  EXPECT_EQ(read_u32(record, 12 + data.size()), mask_crc(crc32c(data.data(), data.size())));
}

}  // namespace
}  // namespace nddr::tensorboard
