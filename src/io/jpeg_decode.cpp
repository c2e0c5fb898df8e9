#include "jpeg_decode.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>

// jpeglib.h needs FILE and size_t declared before it.
#include <jpeglib.h>

#include "nddr/util/error.h"

namespace nddr::io_detail {

namespace {

// Each scan of a progressive JPEG re-reads the coefficient buffer: a file of
// thousands of tiny scans takes minutes. libjpeg-turbo's own API stops at 500
// (TJFLAG_LIMITSCANS); real encoders write about 10.
constexpr int kMaxScans = 500;

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void fail(j_common_ptr info) {
  auto* errors = reinterpret_cast<ErrorManager*>(info->err);
  (*info->err->format_message)(info, errors->message);
  std::longjmp(errors->jump, 1);
}

// libjpeg reports corrupt data (a bad Huffman code, a truncated scan) as a
// warning (level -1) and fills the rest of the image with grey: that is
// silent garbage, so a warning fails like an error. Trace messages (level
// > 0) are dropped; nothing is printed.
void on_message(j_common_ptr info, int level) {
  if (level < 0) fail(info);
}

void on_progress(j_common_ptr info) {
  const auto* decompress = reinterpret_cast<j_decompress_ptr>(info);
  if (decompress->input_scan_number > kMaxScans) {
    auto* errors = reinterpret_cast<ErrorManager*>(info->err);
    std::snprintf(errors->message, sizeof(errors->message),
                  "more than %d scans (a corrupt progressive JPEG)", kMaxScans);
    std::longjmp(errors->jump, 1);
  }
}

}  // namespace

// libjpeg's state lives here, not on a stack frame that longjmp crosses.
struct JpegDecoder::State {
  jpeg_decompress_struct info;
  ErrorManager errors;
  jpeg_progress_mgr progress;
  bool cmyk = false;

  State() {
    std::memset(&info, 0, sizeof(info));
    std::memset(&errors, 0, sizeof(errors));
    std::memset(&progress, 0, sizeof(progress));
  }
  // Safe on a struct jpeg_create_decompress never filled (mem is null then).
  ~State() { jpeg_destroy_decompress(&info); }
};

namespace {

// The functions that call setjmp hold no C++ objects: longjmp back into them
// skips no destructor. Each returns false with errors.message set on failure.

bool read_header(jpeg_decompress_struct& info, ErrorManager& errors, jpeg_progress_mgr& progress,
                 const uint8_t* data, size_t size, bool* cmyk) {
  info.err = jpeg_std_error(&errors.pub);
  errors.pub.error_exit = fail;
  errors.pub.emit_message = on_message;
  if (setjmp(errors.jump)) return false;
  jpeg_create_decompress(&info);
  progress.progress_monitor = on_progress;
  info.progress = &progress;
  jpeg_mem_src(&info, data, static_cast<unsigned long>(size));
  jpeg_read_header(&info, TRUE);
  switch (info.jpeg_color_space) {
    case JCS_GRAYSCALE:
      info.out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      info.out_color_space = JCS_CMYK;  // converted to RGB below, as stb did
      *cmyk = true;
      break;
    default:
      info.out_color_space = JCS_RGB;  // YCbCr or RGB; anything else fails in start
  }
  return true;
}

bool read_rows(jpeg_decompress_struct& info, ErrorManager& errors, uint8_t* out) {
  if (setjmp(errors.jump)) return false;
  jpeg_start_decompress(&info);
  const size_t row_bytes = static_cast<size_t>(info.output_width) * info.output_components;
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = out + static_cast<size_t>(info.output_scanline) * row_bytes;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  return true;
}

// Adobe's CMYK JPEGs store inverted ink: the colour is ink * black / 255.
uint8_t blend(unsigned ink, unsigned black) {
  const unsigned product = ink * black + 128;
  return static_cast<uint8_t>((product + (product >> 8)) >> 8);
}

}  // namespace

bool is_jpeg(const uint8_t* data, size_t size) {
  return size >= 2 && data[0] == 0xFF && data[1] == 0xD8;
}

JpegDecoder::JpegDecoder(const uint8_t* data, size_t size, std::string what)
    : state_(std::make_unique<State>()), what_(std::move(what)) {
  if (!read_header(state_->info, state_->errors, state_->progress, data, size, &state_->cmyk)) {
    throw Error("cannot decode image '" + what_ + "': " + state_->errors.message);
  }
}

JpegDecoder::~JpegDecoder() = default;

int JpegDecoder::width() const { return static_cast<int>(state_->info.image_width); }
int JpegDecoder::height() const { return static_cast<int>(state_->info.image_height); }
int JpegDecoder::channels() const { return state_->info.out_color_space == JCS_GRAYSCALE ? 1 : 3; }

std::vector<uint8_t> JpegDecoder::pixels() {
  const size_t count = static_cast<size_t>(width()) * static_cast<size_t>(height());
  const size_t decoded_channels = state_->cmyk ? 4 : static_cast<size_t>(channels());
  std::vector<uint8_t> decoded(count * decoded_channels);
  if (!read_rows(state_->info, state_->errors, decoded.data())) {
    throw Error("cannot decode image '" + what_ + "': " + state_->errors.message);
  }
  if (!state_->cmyk) return decoded;
  std::vector<uint8_t> rgb(count * 3);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* ink = &decoded[i * 4];
    for (size_t c = 0; c < 3; ++c) rgb[i * 3 + c] = blend(ink[c], ink[3]);
  }
  return rgb;
}

}  // namespace nddr::io_detail
