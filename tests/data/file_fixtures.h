#pragma once
// Writers for fixture formats the io module does not write: big-endian .npy
// and 16-bit greyscale PNG.

#include <torch/torch.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

namespace nddr::testing {

inline void put_big_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

/// A float32 array as a big-endian ('>f4') .npy file, version 1.0.
inline void write_big_endian_npy(const std::string& path, const torch::Tensor& array) {
  const auto values = array.to(torch::kFloat).contiguous();
  std::string shape;
  for (int64_t size : values.sizes()) shape += std::to_string(size) + ", ";
  std::string header = "{'descr': '>f4', 'fortran_order': False, 'shape': (" + shape + "), }";
  // numpy pads the header with spaces and a newline to a multiple of 64 bytes.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  bytes += header;
  const float* data = values.data_ptr<float>();
  for (int64_t i = 0; i < values.numel(); ++i) {
    uint32_t word;
    std::memcpy(&word, &data[i], 4);
    put_big_endian(bytes, word, 4);
  }
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Values 0..65535 [H,W] as a 16-bit greyscale PNG.
inline void write_png16(const std::string& path, const torch::Tensor& values) {
  const auto pixels = values.to(torch::kLong).contiguous();
  const int64_t height = pixels.size(0);
  const int64_t width = pixels.size(1);
  std::string rows;
  for (int64_t y = 0; y < height; ++y) {
    rows.push_back('\0');  // filter: none
    for (int64_t x = 0; x < width; ++x) put_big_endian(rows, pixels[y][x].item<int64_t>(), 2);
  }
  uLongf compressed_size = compressBound(rows.size());
  std::string compressed(compressed_size, '\0');
  compress(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
           reinterpret_cast<const Bytef*>(rows.data()), rows.size());
  compressed.resize(compressed_size);

  std::string png = "\x89PNG\r\n\x1a\n";
  auto chunk = [&png](const std::string& type, const std::string& data) {
    put_big_endian(png, data.size(), 4);
    const std::string body = type + data;
    png += body;
    put_big_endian(png, crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size()), 4);
  };
  std::string header;
  put_big_endian(header, static_cast<uint64_t>(width), 4);
  put_big_endian(header, static_cast<uint64_t>(height), 4);
  header += std::string("\x10\x00\x00\x00\x00", 5);  // 16 bits, grey, deflate, no filter/interlace
  chunk("IHDR", header);
  chunk("IDAT", compressed);
  chunk("IEND", "");
  std::ofstream(path, std::ios::binary).write(png.data(), static_cast<std::streamsize>(png.size()));
}

}  // namespace nddr::testing
