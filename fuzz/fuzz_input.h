#pragma once
// The loaders under fuzzing read files: each input is written to one file
// per process (in /dev/shm when it exists, so no disk is touched) and the
// loader is called on its path.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace nddr::fuzz {

inline std::string input_file(const uint8_t* data, size_t size, const std::string& extension) {
  static const std::string directory =
      std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  const std::string path = directory + "/nddr_fuzz_" + std::to_string(::getpid()) + "." + extension;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace nddr::fuzz
