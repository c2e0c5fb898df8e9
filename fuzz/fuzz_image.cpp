// PNG (stb_image) and JPEG (libjpeg-turbo); the first byte picks the
// channel count asked for (0 keeps the file's).

#include "fuzz_input.h"
#include "nddr/io/image.h"
#include "nddr/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int64_t channels = data[0] % 5;
  const std::string path = nddr::fuzz::input_file(data + 1, size - 1, "img");
  try {
    nddr::read_image(path, channels);
  } catch (const nddr::Error&) {
  }
  return 0;
}
