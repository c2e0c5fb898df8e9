#include "fuzz_input.h"
#include "nddr/io/safetensors.h"
#include "nddr/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = nddr::fuzz::input_file(data, size, "safetensors");
  try {
    nddr::load_safetensors(path);
  } catch (const nddr::Error&) {
  }
  return 0;
}
