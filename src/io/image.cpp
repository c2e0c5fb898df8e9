#include "nddr/io/image.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "jpeg_check.h"
#include "nddr/io/atomic_file.h"
#include "nddr/util/error.h"

// stb is compiled into this file only, with internal linkage, so no other
// library linking it can clash; the rest of the project reads and writes
// images through the functions below.
#define STB_IMAGE_STATIC
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

}  // namespace

torch::Tensor read_image(const std::string& path, int64_t channels) {
  if (channels < 0 || channels > 4) {
    throw Error("reading image '" + path + "': channels must be 0..4, got " +
                std::to_string(channels));
  }
  const std::vector<stbi_uc> bytes = read_bytes(path);
  const int size = static_cast<int>(bytes.size());
  const int wanted = static_cast<int>(channels);
  int width = 0, height = 0, file_channels = 0;
  const std::string jpeg_problem = io_detail::jpeg_table_problem(bytes.data(), bytes.size());
  if (!jpeg_problem.empty()) throw Error("cannot decode image '" + path + "': " + jpeg_problem);
  // A corrupt or hostile header can claim any size: check it before the
  // decoder allocates the pixels.
  if (stbi_info_from_memory(bytes.data(), size, &width, &height, &file_channels)) {
    const int64_t pixels = static_cast<int64_t>(width) * height;
    if (pixels > kMaxPixels) {
      throw Error("image '" + path + "' is " + std::to_string(width) + "x" +
                  std::to_string(height) + " pixels, more than the limit of " +
                  std::to_string(kMaxPixels) + " (16384x16384)");
    }
    // No format stb reads packs more pixels than this into a byte (deflate
    // stops near 1032:1, a JPEG block needs a few bits): a header claiming
    // more is corrupt, and decoding it would fill gigabytes with nothing.
    if (pixels > kMaxPixelsPerByte * static_cast<int64_t>(bytes.size())) {
      throw Error("image '" + path + "' claims " + std::to_string(width) + "x" +
                  std::to_string(height) + " pixels in " + std::to_string(bytes.size()) +
                  " bytes: the file is truncated or corrupt");
    }
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
