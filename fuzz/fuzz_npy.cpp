#include "fuzz_input.h"
#include "nddr/io/npy.h"
#include "nddr/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = nddr::fuzz::input_file(data, size, "npy");
  try {
    nddr::load_npy(path);
  } catch (const nddr::Error&) {
  }
  return 0;
}
