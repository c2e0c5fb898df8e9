#pragma once
// JPEG decoding with libjpeg-turbo. stb_image 2.27 (Debian's) overflows its
// Huffman tables on hostile JPEGs through more marker paths than a
// pre-check can follow (found by fuzz_image), so JPEGs never reach stb:
// libjpeg-turbo validates every marker itself and is fuzzed continuously
// upstream (docs/reliability.md).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nddr::io_detail {

/// True for data starting with a JPEG's start-of-image marker (FF D8).
bool is_jpeg(const uint8_t* data, size_t size);

/// One JPEG being decoded: the constructor reads the header (so the caller
/// can check the claimed size before any pixels are allocated), pixels()
/// decodes. Every libjpeg error and every corrupt-data warning (which
/// libjpeg would otherwise paper over with grey) is an Error naming `what`.
class JpegDecoder {
 public:
  JpegDecoder(const uint8_t* data, size_t size, std::string what);
  ~JpegDecoder();
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  int width() const;
  int height() const;
  /// The file's channels as read_image reports them: 1 (grey) or 3 (colour;
  /// CMYK files are converted to RGB).
  int channels() const;

  /// The pixels, row-major [height, width, channels()]. Call at most once.
  std::vector<uint8_t> pixels();

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::string what_;
};

}  // namespace nddr::io_detail
