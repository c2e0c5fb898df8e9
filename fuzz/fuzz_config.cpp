// The YAML config and "key=value" overrides: the input is a YAML document,
// and each of its lines that contains '=' is also applied as an override.
// Every rejection must be an nddr::Error; anything else escaping is a bug.

#include <sstream>

#include "nddr/config/config.h"
#include "nddr/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nddr::Config config;
  try {
    config.merge_yaml(text, "fuzz.yaml");
  } catch (const nddr::Error&) {
  }
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find('=') == std::string::npos) continue;
    try {
      config.apply_override(line);
    } catch (const nddr::Error&) {
    }
  }
  // What was accepted must read back and save.
  for (const auto& spec : nddr::config_schema()) config.node(spec.key);
  nddr::Config reloaded;
  reloaded.merge_yaml(config.to_yaml(), "saved");
  return 0;
}
