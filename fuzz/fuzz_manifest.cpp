// CSV and JSONL manifests (the table reader, before any image is opened):
// the first byte picks the format.

#include "data/manifest_table.h"
#include "fuzz_input.h"
#include "nddr/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool jsonl = data[0] & 1;
  const std::string path = nddr::fuzz::input_file(data + 1, size - 1, jsonl ? "jsonl" : "csv");
  try {
    if (jsonl) {
      nddr::detail::read_jsonl_manifest(path);
    } else {
      nddr::detail::read_csv_manifest(path);
    }
  } catch (const nddr::Error&) {
  }
  return 0;
}
