#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

// nddr/nddr.h promises the whole public API: a header added under
// include/nddr/ must be added there too.
TEST(UmbrellaHeader, IncludesEveryPublicHeader) {
  const fs::path include = fs::path(NDDR_SOURCE_DIR) / "include";
  std::ifstream in(include / "nddr/nddr.h");
  ASSERT_TRUE(in) << "include/nddr/nddr.h is missing";
  std::stringstream text;
  text << in.rdbuf();
  int64_t headers = 0;
  for (const auto& entry : fs::recursive_directory_iterator(include / "nddr")) {
    if (entry.path().extension() != ".h") continue;
    const std::string name = fs::relative(entry.path(), include).generic_string();
    if (name == "nddr/nddr.h") continue;
    ++headers;
    EXPECT_NE(text.str().find("#include \"" + name + "\""), std::string::npos)
        << name << " is not included by include/nddr/nddr.h";
  }
  EXPECT_GT(headers, 10);
}

}  // namespace
