#include "nddr/io/safetensors.h"

#include <gtest/gtest.h>

#include "nddr/util/error.h"
#include "support/temp_dir.h"

namespace nddr {
namespace {

using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

std::string u64_little_endian(uint64_t value) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

// A safetensors file assembled per the spec from a header text and raw data.
std::string safetensors_file(std::string header, const std::string& data, bool pad = true) {
  if (pad) header.append((8 - header.size() % 8) % 8, ' ');
  return u64_little_endian(header.size()) + header + data;
}

std::string float_bytes(std::initializer_list<float> values) {
  std::string out;
  for (const float value : values) {
    uint32_t bits = 0;
    std::memcpy(&bits, &value, 4);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
  return out;
}

void expect_error(const TempDir& dir, const std::string& bytes,
                  const std::vector<std::string>& fragments) {
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, bytes);
  try {
    load_safetensors(path);
    FAIL() << "expected an Error containing '" << fragments.front() << "'";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    for (const auto& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "'" << fragment << "' not in: " << message;
    }
  }
}

// Bit-level equality, so NaN payloads and signed zeros count too.
bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  if (a.numel() == 0) return true;
  return std::memcmp(a.contiguous().data_ptr(), b.contiguous().data_ptr(), a.nbytes()) == 0;
}

TEST(Safetensors, RoundTripsEveryDtypeBitExactly) {
  TempDir dir;
  torch::manual_seed(1);
  std::map<std::string, torch::Tensor> tensors;
  for (const auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16,
                           torch::kLong, torch::kInt, torch::kShort, torch::kChar, torch::kByte}) {
    // Random bit patterns, NaNs and infinities included for the float types.
    const int64_t item = c10::elementSize(dtype);
    tensors[std::string("t_") + c10::toString(dtype)] =
        torch::randint(0, 256, {3 * 5 * item}, torch::kByte).view(dtype).view({3, 5});
  }
  tensors["flags"] = torch::tensor({true, false, true, true});
  tensors["scalar"] = torch::tensor(3.5);
  tensors["empty"] = torch::zeros({0, 4});
  tensors["strided"] = torch::arange(6.0).view({2, 3}).t();
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "ünïcode"}};

  const std::string path = dir.file("all.safetensors");
  save_safetensors(path, tensors, metadata);
  const SafetensorsFile file = load_safetensors(path);
  EXPECT_EQ(file.metadata, metadata);
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    ASSERT_TRUE(file.tensors.count(name)) << name;
    EXPECT_TRUE(same_bits(file.tensors.at(name), tensor.contiguous())) << name;
  }
  EXPECT_EQ(dir.entries(), 1u);
}

TEST(Safetensors, WritesTheSpecifiedBytes) {
  TempDir dir;
  const std::string path = dir.file("one.safetensors");
  save_safetensors(path, {{"b", torch::tensor({1.0f, -2.0f})}, {"a", torch::tensor({0.5f})}});
  // Tensors in name order; header keys sorted; padded with spaces to 8 bytes;
  // the metadata holds the data's CRC-32 (computed with Python's zlib.crc32).
  const std::string header = R"({"__metadata__":{"nddr_data_crc32":"2cf83053"},)"
                             R"("a":{"data_offsets":[0,4],"dtype":"F32","shape":[1]},)"
                             R"("b":{"data_offsets":[4,12],"dtype":"F32","shape":[2]}})";
  EXPECT_EQ(read_bytes(path), safetensors_file(header, float_bytes({0.5f, 1.0f, -2.0f})));
}

TEST(Safetensors, ReadsHandBuiltFile) {
  TempDir dir;
  // Offsets not in key order, an unpadded header and metadata.
  const std::string header =
      R"({"__metadata__": {"source": "hand"}, "w": {"dtype": "F32", "shape": [2, 1],)"
      R"( "data_offsets": [4, 12]}, "i": {"dtype": "I16", "shape": [2], "data_offsets": [0, 4]},)"
      R"( "z": {"dtype": "BOOL", "shape": [], "data_offsets": [12, 13]}})";
  const std::string data = std::string("\x01\x00\xfe\xff", 4) + float_bytes({1.5f, -3.0f}) + "\x01";
  const std::string path = dir.file("hand.safetensors");
  write_bytes(path, safetensors_file(header, data, /*pad=*/false));
  const SafetensorsFile file = load_safetensors(path);
  EXPECT_EQ(file.metadata, (std::map<std::string, std::string>{{"source", "hand"}}));
  ASSERT_EQ(file.tensors.size(), 3u);
  EXPECT_TRUE(file.tensors.at("i").equal(torch::tensor({1, -2}, torch::kShort)));
  EXPECT_TRUE(file.tensors.at("w").equal(torch::tensor({{1.5f}, {-3.0f}})));
  EXPECT_EQ(file.tensors.at("z").dim(), 0);
  EXPECT_TRUE(file.tensors.at("z").item<bool>());
}

TEST(Safetensors, CorruptFilesAreErrorsNamingTheProblem) {
  TempDir dir;
  const std::string data = float_bytes({1, 2});
  const auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape,
                        int begin, int end) {
    return "\"" + name + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape +
           ", \"data_offsets\": [" + std::to_string(begin) + ", " + std::to_string(end) + "]}";
  };
  const std::string good = "{" + entry("x", "F32", "[2]", 0, 8) + "}";
  ASSERT_NO_THROW({
    write_bytes(dir.file("good.safetensors"), safetensors_file(good, data));
    load_safetensors(dir.file("good.safetensors"));
  });

  expect_error(dir, "\x05\x00\x00", {"truncated"});
  expect_error(dir, u64_little_endian(1000) + good, {"header length 1000"});
  expect_error(dir, safetensors_file("{\"x\": {", data), {"not valid JSON"});
  expect_error(dir, safetensors_file("[1, 2]", data), {"not a JSON object"});
  expect_error(dir, safetensors_file("{" + entry("x", "C64", "[1]", 0, 8) + "}", data),
               {"'x'", "unsupported dtype 'C64'"});
  expect_error(dir, safetensors_file("{" + entry("x", "F32", "[3]", 0, 12) + "}", data),
               {"'x'", "run past"});
  expect_error(dir, safetensors_file(good, data.substr(0, 6)), {"'x'", "run past"});
  expect_error(dir, safetensors_file(good, data + "junk"), {"4 bytes after"});
  expect_error(dir, safetensors_file("{" + entry("x", "F32", "[3]", 0, 8) + "}", data),
               {"'x'", "needs 12"});
  expect_error(
      dir,
      safetensors_file(
          "{" + entry("x", "F32", "[1]", 0, 4) + ", " + entry("y", "F32", "[1]", 2, 6) + "}", data),
      {"'y'", "overlap", "'x'"});
  expect_error(dir, safetensors_file("{" + entry("x", "F32", "[1]", 4, 8) + "}", data),
               {"'x'", "gap"});
  expect_error(dir, safetensors_file("{" + entry("x", "F32", "[2]", 8, 0) + "}", data),
               {"'x'", "end before begin"});
  expect_error(dir, safetensors_file("{" + entry("x", "F32", "[-2]", 0, 8) + "}", data),
               {"'x'", "'shape'"});
  expect_error(dir, safetensors_file(R"({"x": {"dtype": "F32", "data_offsets": [0, 8]}})", data),
               {"'x'", "lacks 'shape'"});
  expect_error(
      dir, safetensors_file(R"({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", data),
      {"'x'", "'data_offsets'"});
  expect_error(
      dir,
      safetensors_file(R"({"__metadata__": {"epoch": 3}, )" + entry("x", "F32", "[2]", 0, 8) + "}",
                       data),
      {"__metadata__", "epoch"});
}

TEST(Safetensors, MissingFileIsError) {
  TempDir dir;
  EXPECT_THROW(load_safetensors(dir.file("none.safetensors")), Error);
}

TEST(Safetensors, SaveRejectsBadInputAndCreatesNothing) {
  TempDir dir;
  const std::string path = dir.file("out.safetensors");
  try {
    save_safetensors(
        path, {{"ok", torch::zeros({2})}, {"cplx", torch::zeros({2}, torch::kComplexFloat)}});
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("'cplx'"), std::string::npos) << error.what();
  }
  EXPECT_THROW(save_safetensors(path, {{"__metadata__", torch::zeros({1})}}), Error);
  EXPECT_THROW(save_safetensors(path, {{"undefined", torch::Tensor()}}), Error);
  EXPECT_EQ(dir.entries(), 0u);
}

TEST(Safetensors, FlippedBitInTheDataIsDetectedNamingTheFile) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  save_safetensors(path, {{"a", torch::arange(64, torch::kFloat)}, {"b", torch::ones({3, 3})}},
                   {{"note", "x"}});
  const std::string good = read_bytes(path);
  EXPECT_EQ(load_safetensors(path).metadata, (std::map<std::string, std::string>{{"note", "x"}}))
      << "the checksum is not part of the user's metadata";
  for (size_t from_end : {size_t{1}, size_t{40}, size_t{200}}) {
    std::string damaged = good;
    damaged[damaged.size() - from_end] ^= 0x01;
    write_bytes(path, damaged);
    try {
      load_safetensors(path);
      ADD_FAILURE() << "a flipped bit " << from_end << " bytes from the end loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
    }
  }
}

TEST(Safetensors, FilesWithoutAChecksumStillLoad) {
  TempDir dir;
  const std::string path = dir.file("old.safetensors");
  write_bytes(path, safetensors_file(R"({"x": {"dtype": "F32", "shape": [2], )"
                                     R"("data_offsets": [0, 8]}})",
                                     float_bytes({1.5f, -2.0f})));
  const auto file = load_safetensors(path);
  EXPECT_TRUE(torch::equal(file.tensors.at("x"), torch::tensor({1.5f, -2.0f})));
}

TEST(Safetensors, ChecksumKeyIsReservedAndHeaderDepthBounded) {
  TempDir dir;
  EXPECT_THROW(save_safetensors(dir.file("r.safetensors"), {{"x", torch::zeros({1})}},
                                {{"nddr_data_crc32", "0"}}),
               Error);
  const std::string deep = std::string(50000, '[') + std::string(50000, ']');
  expect_error(dir, safetensors_file(R"({"x": {"dtype": "F32", "shape": )" + deep + "}}", ""),
               {"bad.safetensors", "nested deeper"});
}

}  // namespace
}  // namespace nddr
