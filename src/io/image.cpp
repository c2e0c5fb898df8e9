#include "nddr/io/image.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "jpeg_decode.h"
#include "nddr/io/atomic_file.h"
#include "nddr/util/error.h"

// stb is compiled into this file only, with internal linkage, so no other
// library linking it can clash; the rest of the project reads and writes
// images through the functions below. stb decodes PNG only: JPEGs go to
// libjpeg-turbo (jpeg_decode.h says why), and the other formats stb knows
// are parsers nddr's datasets do not need.
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace nddr {
namespace {

constexpr int64_t kMaxPixels = int64_t{16384} * 16384;
constexpr int64_t kMaxPixelsPerByte = 4096;

std::vector<stbi_uc> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open image '" + path + "': " + std::strerror(errno));
  std::vector<stbi_uc> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("cannot read image '" + path + "'");
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    throw Error("image '" + path + "' is too large (" + std::to_string(bytes.size()) + " bytes)");
  }
  return bytes;
}

// Copies stb's pixel buffer into a tensor that owns its memory, then frees it.
template <typename Pixel>
torch::Tensor take_pixels(Pixel* pixels, int height, int width, int channels,
                          torch::ScalarType stored, torch::ScalarType result) {
  std::unique_ptr<Pixel, void (*)(void*)> owner(pixels, stbi_image_free);
  return torch::from_blob(pixels, {height, width, channels}, stored)
      .to(result, /*non_blocking=*/false, /*copy=*/true);
}

// A header claiming a huge or implausible size is rejected before the
// decoder allocates the pixels.
void check_claimed_size(const std::string& path, int64_t width, int64_t height, size_t bytes) {
  const int64_t pixels = width * height;
  if (pixels > kMaxPixels) {
    throw Error("image '" + path + "' is " + std::to_string(width) + "x" + std::to_string(height) +
                " pixels, more than the limit of " + std::to_string(kMaxPixels) + " (16384x16384)");
  }
  // No format nddr reads packs more pixels than this into a byte (deflate
  // stops near 1032:1, a baseline JPEG block needs a few bits): a header
  // claiming more is corrupt, and decoding it would fill gigabytes with nothing.
  if (pixels > kMaxPixelsPerByte * static_cast<int64_t>(bytes)) {
    throw Error("image '" + path + "' claims " + std::to_string(width) + "x" +
                std::to_string(height) + " pixels in " + std::to_string(bytes) +
                " bytes: the file is truncated or corrupt");
  }
}

// Grey (1) or RGB (3) pixels to `wanted` channels (1..4), with stb's rules
// for PNGs: grey from RGB is (77 R + 150 G + 29 B) / 256, added alpha is opaque.
std::vector<uint8_t> convert_channels(const std::vector<uint8_t>& in, int from, int wanted) {
  if (wanted == 0 || wanted == from) return in;
  const size_t count = in.size() / static_cast<size_t>(from);
  std::vector<uint8_t> out(count * static_cast<size_t>(wanted));
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* p = &in[i * static_cast<size_t>(from)];
    uint8_t* q = &out[i * static_cast<size_t>(wanted)];
    const uint8_t grey =
        from == 1 ? p[0] : static_cast<uint8_t>((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
    if (wanted <= 2) {
      q[0] = grey;
    } else {
      for (int c = 0; c < 3; ++c) q[c] = from == 1 ? grey : p[c];
    }
    if (wanted == 2 || wanted == 4) q[wanted - 1] = 255;
  }
  return out;
}

torch::Tensor read_jpeg(const std::string& path, const std::vector<stbi_uc>& bytes, int wanted) {
  io_detail::JpegDecoder decoder(bytes.data(), bytes.size(), path);
  check_claimed_size(path, decoder.width(), decoder.height(), bytes.size());
  const int channels = wanted ? wanted : decoder.channels();
  std::vector<uint8_t> pixels = convert_channels(decoder.pixels(), decoder.channels(), wanted);
  return torch::from_blob(pixels.data(), {decoder.height(), decoder.width(), channels},
                          torch::kByte)
      .clone();
}

}  // namespace

torch::Tensor read_image(const std::string& path, int64_t channels) {
  if (channels < 0 || channels > 4) {
    throw Error("reading image '" + path + "': channels must be 0..4, got " +
                std::to_string(channels));
  }
  const std::vector<stbi_uc> bytes = read_bytes(path);
  const int size = static_cast<int>(bytes.size());
  const int wanted = static_cast<int>(channels);
  if (io_detail::is_jpeg(bytes.data(), bytes.size())) return read_jpeg(path, bytes, wanted);
  int width = 0, height = 0, file_channels = 0;
  if (stbi_info_from_memory(bytes.data(), size, &width, &height, &file_channels)) {
    check_claimed_size(path, width, height, bytes.size());
  }
  torch::Tensor image;
  if (stbi_is_16_bit_from_memory(bytes.data(), size)) {
    stbi_us* pixels =
        stbi_load_16_from_memory(bytes.data(), size, &width, &height, &file_channels, wanted);
    if (pixels != nullptr) {
      // LibTorch has no uint16: widen so values above 32767 stay positive.
      image = take_pixels(pixels, height, width, wanted ? wanted : file_channels, torch::kShort,
                          torch::kInt)
                  .bitwise_and(0xffff);
    }
  } else {
    stbi_uc* pixels =
        stbi_load_from_memory(bytes.data(), size, &width, &height, &file_channels, wanted);
    if (pixels != nullptr) {
      image = take_pixels(pixels, height, width, wanted ? wanted : file_channels, torch::kByte,
                          torch::kByte);
    }
  }
  if (!image.defined()) {
    throw Error("cannot decode image '" + path + "': " + stbi_failure_reason());
  }
  return image;
}

std::string encode_png(const torch::Tensor& image, const std::string& what) {
  if (!image.defined() || image.scalar_type() != torch::kByte ||
      (image.dim() != 2 && image.dim() != 3) ||
      (image.dim() == 3 && (image.size(2) < 1 || image.size(2) > 4))) {
    throw Error("cannot encode PNG '" + what +
                "': expected a uint8 tensor [H,W] or [H,W,C] with C in 1..4, got " +
                (image.defined() ? std::string(c10::toString(image.scalar_type())) + " " +
                                       c10::str(image.sizes())
                                 : std::string("an undefined tensor")));
  }
  const torch::Tensor pixels = image.to(torch::kCPU).contiguous();
  const int height = static_cast<int>(pixels.size(0));
  const int width = static_cast<int>(pixels.size(1));
  const int channels = pixels.dim() == 3 ? static_cast<int>(pixels.size(2)) : 1;
  if (height == 0 || width == 0) {
    throw Error("cannot write PNG '" + what + "': empty image " + c10::str(pixels.sizes()));
  }
  std::string encoded;
  const auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                               static_cast<size_t>(size));
  };
  if (!stbi_write_png_to_func(append, &encoded, width, height, channels, pixels.data_ptr(),
                              width * channels)) {
    throw Error("cannot encode PNG '" + what + "'");
  }
  return encoded;
}

void write_png(const std::string& path, const torch::Tensor& image) {
  const std::string encoded = encode_png(image, path);
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(encoded.data(), static_cast<std::streamsize>(encoded.size()));
  });
}

}  // namespace nddr
