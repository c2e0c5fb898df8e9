#include "nddr/io/image.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <tuple>

// jpeglib.h needs FILE declared before it.
#include <jpeglib.h>

#include "nddr/util/error.h"
#include "support/temp_dir.h"

// The JPEG fixture is encoded with stb's writer, compiled privately here.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace nddr {
namespace {

using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

uint32_t crc32(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (const char c : bytes) {
    crc ^= static_cast<uint8_t>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint32_t adler32(const std::string& bytes) {
  uint32_t a = 1, b = 0;
  for (const char c : bytes) {
    a = (a + static_cast<uint8_t>(c)) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

std::string big_endian32(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

std::string chunk(const std::string& type, const std::string& data) {
  return big_endian32(static_cast<uint32_t>(data.size())) + type + data +
         big_endian32(crc32(type + data));
}

// A 16-bit PNG (colour type 0 grey or 2 RGB) assembled per the PNG spec, with
// the image data in one uncompressed ("stored") deflate block.
std::string png16(int height, int width, int channels, const std::vector<uint16_t>& samples) {
  std::string raw;
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);  // filter type None
    for (int i = 0; i < width * channels; ++i) {
      const uint16_t v = samples[static_cast<size_t>(y * width * channels + i)];
      raw.push_back(static_cast<char>(v >> 8));
      raw.push_back(static_cast<char>(v & 0xff));
    }
  }
  std::string zlib = "\x78\x01";
  zlib.push_back(1);  // final block, stored
  const auto length = static_cast<uint16_t>(raw.size());
  for (const uint16_t v : {length, static_cast<uint16_t>(~length)}) {
    zlib.push_back(static_cast<char>(v & 0xff));
    zlib.push_back(static_cast<char>(v >> 8));
  }
  zlib += raw + big_endian32(adler32(raw));
  std::string header =
      big_endian32(static_cast<uint32_t>(width)) + big_endian32(static_cast<uint32_t>(height));
  header += std::string{16, static_cast<char>(channels == 1 ? 0 : 2), 0, 0, 0};
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", header) + chunk("IDAT", zlib) +
         chunk("IEND", "");
}

void expect_error_naming(const std::function<void()>& call, const std::string& path,
                         const std::string& fragment) {
  try {
    call();
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

TEST(Image, PngRoundTripIsExact) {
  TempDir dir;
  torch::manual_seed(0);
  for (const int64_t channels : {1, 2, 3, 4}) {
    const auto image = torch::randint(0, 256, {5, 7, channels}, torch::kByte);
    const std::string path = dir.file("rgb.png");
    write_png(path, image);
    const auto loaded = read_image(path);
    EXPECT_EQ(loaded.scalar_type(), torch::kByte);
    EXPECT_TRUE(loaded.equal(image)) << channels << " channels";
  }
  EXPECT_EQ(dir.entries(), 1u);
}

TEST(Image, GreyTwoDimensionalAndChannelConversion) {
  TempDir dir;
  const std::string path = dir.file("grey.png");
  const auto grey = torch::arange(12, torch::kByte).view({3, 4}) * 20;
  write_png(path, grey);
  EXPECT_TRUE(read_image(path).equal(grey.unsqueeze(2)));
  // Grey expands to equal RGB; an added alpha channel is opaque.
  const auto rgba = read_image(path, 4);
  ASSERT_EQ(rgba.sizes(), torch::IntArrayRef({3, 4, 4}));
  for (int c = 0; c < 3; ++c) EXPECT_TRUE(rgba.select(2, c).equal(grey));
  EXPECT_TRUE(rgba.select(2, 3).eq(255).all().item<bool>());
}

TEST(Image, Reads16BitPngAsInt32) {
  TempDir dir;
  const std::string path = dir.file("depth.png");
  const std::vector<uint16_t> grey = {0, 1000, 40000, 65535, 256, 12345};
  write_bytes(path, png16(2, 3, 1, grey));
  const auto loaded = read_image(path);
  EXPECT_EQ(loaded.scalar_type(), torch::kInt);
  EXPECT_TRUE(loaded.equal(
      torch::tensor({0, 1000, 40000, 65535, 256, 12345}, torch::kInt).view({2, 3, 1})));

  const std::vector<uint16_t> rgb = {1, 2, 3, 60000, 50000, 40000};
  write_bytes(path, png16(1, 2, 3, rgb));
  EXPECT_TRUE(read_image(path).equal(
      torch::tensor({1, 2, 3, 60000, 50000, 40000}, torch::kInt).view({1, 2, 3})));
}

TEST(Image, ReadsJpeg) {
  TempDir dir;
  const std::string path = dir.file("flat.jpg");
  std::vector<uint8_t> pixels(16 * 16 * 3);
  for (size_t i = 0; i < pixels.size(); i += 3) {
    pixels[i] = 200;
    pixels[i + 1] = 100;
    pixels[i + 2] = 50;
  }
  ASSERT_TRUE(stbi_write_jpg(path.c_str(), 16, 16, 3, pixels.data(), 95));
  const auto loaded = read_image(path);
  ASSERT_EQ(loaded.sizes(), torch::IntArrayRef({16, 16, 3}));
  const auto expected = torch::tensor({200, 100, 50}, torch::kInt).view({1, 1, 3});
  EXPECT_LE((loaded.to(torch::kInt) - expected).abs().max().item<int>(), 3);
}

TEST(Image, CorruptOrMissingFilesAreErrors) {
  TempDir dir;
  const std::string path = dir.file("bad.png");
  write_png(path, torch::zeros({8, 8, 3}, torch::kByte));
  const std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() / 2));
  expect_error_naming([&] { read_image(path); }, path, "cannot decode");
  write_bytes(path, "this is not an image");
  expect_error_naming([&] { read_image(path); }, path, "cannot decode");
  const std::string missing = dir.file("missing.png");
  expect_error_naming([&] { read_image(missing); }, missing, "No such file");
  expect_error_naming([&] { read_image(path, 5); }, path, "channels");
}

TEST(Image, WriteRejectsBadTensorsAndCreatesNothing) {
  TempDir dir;
  const std::string path = dir.file("out.png");
  expect_error_naming([&] { write_png(path, torch::zeros({4, 4, 3})); }, path, "Float");
  expect_error_naming(
      [&] {
        write_png(path, torch::zeros({4, 4, 5}, torch::kByte));
      },
      path, "uint8");
  expect_error_naming(
      [&] {
        write_png(path, torch::zeros({0, 4, 3}, torch::kByte));
      },
      path, "empty");
  EXPECT_EQ(dir.entries(), 0u);
}

// A PNG whose header (IHDR, bytes 16-23) claims width x height pixels.
std::string png_claiming(const TempDir& dir, uint32_t width, uint32_t height) {
  const std::string path = dir.file("claim.png");
  write_png(path, torch::zeros({4, 4}, torch::kByte));
  std::string bytes = read_bytes(path);
  for (int i = 0; i < 4; ++i) {
    bytes[16 + i] = static_cast<char>((width >> (24 - 8 * i)) & 0xff);
    bytes[20 + i] = static_cast<char>((height >> (24 - 8 * i)) & 0xff);
  }
  write_bytes(path, bytes);
  return path;
}

TEST(Image, HeadersClaimingHugeOrImplausibleSizesAreRejectedBeforeDecoding) {
  TempDir dir;
  for (const auto& [width, height, fragment] :
       {std::tuple<uint32_t, uint32_t, std::string>{20000, 20000, "more than the limit"},
        {5000, 5000, "truncated or corrupt"}}) {
    const std::string path = png_claiming(dir, width, height);
    try {
      read_image(path);
      ADD_FAILURE() << width << "x" << height << " decoded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
}

// A Huffman table of more than 256 codes made stb_image 2.27 write past its
// tables (found by fuzz_image); libjpeg-turbo rejects it.
TEST(Image, JpegWithAnOversizedHuffmanTableIsRejected) {
  TempDir dir;
  std::string jpeg = "\xFF\xD8\xFF\xC4";
  jpeg += '\0';
  jpeg += static_cast<char>(2 + 17);  // segment length, counts only
  jpeg += '\0';                       // DC table 0
  jpeg += std::string(16, '\x20');    // 16 x 32 = 512 codes
  const std::string path = dir.file("bad.jpg");
  write_bytes(path, jpeg);
  expect_error_naming([&] { read_image(path); }, path, "Bogus Huffman table");
}

// A 16x16 JPEG of one colour, encoded with libjpeg (stb's writer always
// writes three components): 1 (grey), 3 (RGB) or 4 (Adobe-style CMYK).
std::string flat_jpeg(TempDir& dir, const std::string& name, const std::vector<uint8_t>& pixel) {
  jpeg_compress_struct info;
  jpeg_error_mgr errors;
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  unsigned char* encoded = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &encoded, &size);
  info.image_width = info.image_height = 16;
  info.input_components = static_cast<int>(pixel.size());
  info.in_color_space = pixel.size() == 1 ? JCS_GRAYSCALE : pixel.size() == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 95, TRUE);
  jpeg_start_compress(&info, TRUE);
  std::vector<uint8_t> row;
  for (int x = 0; x < 16; ++x) row.insert(row.end(), pixel.begin(), pixel.end());
  while (info.next_scanline < info.image_height) {
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&info, rows, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  const std::string path = dir.file(name);
  write_bytes(path, std::string(reinterpret_cast<const char*>(encoded), size));
  std::free(encoded);
  return path;
}

int max_difference(const torch::Tensor& image, std::vector<int> pixel) {
  const auto expected = torch::tensor(pixel, torch::kInt).view({1, 1, -1});
  return (image.to(torch::kInt) - expected).abs().max().item<int>();
}

TEST(Image, JpegChannelsConvertAsForPng) {
  TempDir dir;
  const std::string grey = flat_jpeg(dir, "grey.jpg", {90});
  EXPECT_EQ(read_image(grey).sizes(), torch::IntArrayRef({16, 16, 1}));
  EXPECT_LE(max_difference(read_image(grey, 3), {90, 90, 90}), 2);
  EXPECT_LE(max_difference(read_image(grey, 2), {90, 255}), 2);
  const std::string colour = flat_jpeg(dir, "colour.jpg", {200, 100, 50});
  EXPECT_EQ(read_image(colour).sizes(), torch::IntArrayRef({16, 16, 3}));
  // (77 * 200 + 150 * 100 + 29 * 50) / 256 = 125
  EXPECT_LE(max_difference(read_image(colour, 1), {125}), 3);
  EXPECT_LE(max_difference(read_image(colour, 4), {200, 100, 50, 255}), 3);
  // Inverted CMYK as Adobe writes it: colour = ink * black / 255.
  const std::string cmyk = flat_jpeg(dir, "cmyk.jpg", {255, 128, 0, 200});
  EXPECT_LE(max_difference(read_image(cmyk), {200, 100, 0}), 3);
}

// libjpeg would fill the missing rows of a truncated file with grey and
// succeed with a warning: nddr makes that an error.
TEST(Image, TruncatedJpegIsAnErrorNotGreyPixels) {
  TempDir dir;
  const std::string path = dir.file("cut.jpg");
  std::vector<uint8_t> pixels(64 * 64 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37);
  ASSERT_TRUE(stbi_write_jpg(path.c_str(), 64, 64, 3, pixels.data(), 95));
  const std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() * 2 / 3));
  expect_error_naming([&] { read_image(path); }, path, "cannot decode");
}

// Every input fuzz_image found a crash with is kept in fuzz/regressions/image
// (also the fuzzer's seed corpus); each must give an Error, and ASan in the
// sanitizer suite checks that none reads or writes out of bounds. The first
// byte is the channel count, as in fuzz/fuzz_image.cpp.
TEST(Image, FuzzerFoundInputsAreErrors) {
  TempDir dir;
  const std::filesystem::path corpus =
      std::filesystem::path(NDDR_SOURCE_DIR) / "fuzz/regressions/image";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    const std::string input = read_bytes(entry.path().string());
    ASSERT_FALSE(input.empty()) << entry.path();
    const std::string path = dir.file(entry.path().filename().string());
    write_bytes(path, input.substr(1));
    EXPECT_THROW(read_image(path, static_cast<uint8_t>(input[0]) % 5), Error) << entry.path();
    ++files;
  }
  EXPECT_GE(files, 1);
}

}  // namespace
}  // namespace nddr
