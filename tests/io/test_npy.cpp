#include "nddr/io/npy.h"

#include <gtest/gtest.h>

#include <cstring>

#include "nddr/util/error.h"
#include "support/temp_dir.h"

namespace nddr {
namespace {

using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

// Serialises the bit pattern of each value in the given byte order,
// independently of the host's order.
template <typename T>
std::string encode(const std::vector<T>& values, bool big_endian) {
  std::string out;
  for (const T& value : values) {
    uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof(T));  // low bytes on little-endian hosts
    std::string item;
    for (size_t i = 0; i < sizeof(T); ++i)
      item.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
    if (big_endian) std::reverse(item.begin(), item.end());
    out += item;
  }
  return out;
}

// A complete .npy file assembled per the format spec.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const size_t prefix = 8 + (major == 1 ? 2 : 4);
  while ((prefix + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  const size_t length = header.size();
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i)
    out.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  return out + header + data;
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

torch::Tensor load_bytes(const TempDir& dir, const std::string& bytes) {
  const std::string path = dir.file("a.npy");
  write_bytes(path, bytes);
  return load_npy(path);
}

void expect_error(const TempDir& dir, const std::string& bytes, const std::string& fragment) {
  const std::string path = dir.file("bad.npy");
  write_bytes(path, bytes);
  try {
    load_npy(path);
    FAIL() << "expected an Error containing '" << fragment << "'";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

TEST(Npy, ReadsLittleEndianFloat32) {
  TempDir dir;
  const auto t = load_bytes(
      dir, npy_file(dict("<f4", "(2, 3)"), encode<float>({0.5f, -1, 2, 3, 4.25f, 5}, false)));
  EXPECT_EQ(t.scalar_type(), torch::kFloat);
  EXPECT_TRUE(t.equal(torch::tensor({{0.5f, -1.f, 2.f}, {3.f, 4.25f, 5.f}})));
}

TEST(Npy, ReadsBigEndianFloats) {
  TempDir dir;
  const auto f8 =
      load_bytes(dir, npy_file(dict(">f8", "(3,)"), encode<double>({1.0 / 3, -2e100, 7}, true)));
  EXPECT_EQ(f8.scalar_type(), torch::kDouble);
  EXPECT_TRUE(f8.equal(torch::tensor({1.0 / 3, -2e100, 7.0}, torch::kDouble)));
  const auto f4 = load_bytes(dir, npy_file(dict(">f4", "(2,)"), encode<float>({1.5f, -8}, true)));
  EXPECT_TRUE(f4.equal(torch::tensor({1.5f, -8.f})));
}

TEST(Npy, ReadsHalf) {
  TempDir dir;
  // IEEE half bit patterns: 1.0, -2.0, 0.5.
  const auto t = load_bytes(
      dir, npy_file(dict("<f2", "(3,)"), encode<uint16_t>({0x3C00, 0xC000, 0x3800}, false)));
  EXPECT_EQ(t.scalar_type(), torch::kHalf);
  EXPECT_TRUE(t.to(torch::kFloat).equal(torch::tensor({1.f, -2.f, 0.5f})));
}

TEST(Npy, ReadsIntegerTypesInBothByteOrders) {
  TempDir dir;
  const auto u1 = load_bytes(dir, npy_file(dict("|u1", "(3,)"), std::string("\x00\x7f\xff", 3)));
  EXPECT_EQ(u1.scalar_type(), torch::kByte);
  EXPECT_TRUE(u1.equal(torch::tensor({0, 127, 255}, torch::kByte)));

  const auto i1 = load_bytes(dir, npy_file(dict("|i1", "(2,)"), std::string("\xff\x05", 2)));
  EXPECT_TRUE(i1.equal(torch::tensor({-1, 5}, torch::kChar)));

  const auto i2 =
      load_bytes(dir, npy_file(dict("<i2", "(2,)"), encode<int16_t>({-300, 300}, false)));
  EXPECT_TRUE(i2.equal(torch::tensor({-300, 300}, torch::kShort)));

  const auto i4 =
      load_bytes(dir, npy_file(dict("<i4", "(2,)"), encode<int32_t>({-70000, 1}, false)));
  EXPECT_TRUE(i4.equal(torch::tensor({-70000, 1}, torch::kInt)));

  const auto i4b =
      load_bytes(dir, npy_file(dict(">i4", "(2,)"), encode<int32_t>({-70000, 1}, true)));
  EXPECT_TRUE(i4b.equal(torch::tensor({-70000, 1}, torch::kInt)));

  const int64_t big = int64_t{1} << 40;
  const auto i8 = load_bytes(dir, npy_file(dict("<i8", "(2,)"), encode<int64_t>({-big, 3}, false)));
  EXPECT_TRUE(i8.equal(torch::tensor({-big, int64_t{3}}, torch::kLong)));

  const auto i8b = load_bytes(dir, npy_file(dict(">i8", "(2,)"), encode<int64_t>({-big, 3}, true)));
  EXPECT_TRUE(i8b.equal(torch::tensor({-big, int64_t{3}}, torch::kLong)));
}

TEST(Npy, ReadsUint16AsInt32KeepingValues) {
  TempDir dir;
  const auto t =
      load_bytes(dir, npy_file(dict("<u2", "(3,)"), encode<uint16_t>({0, 40000, 65535}, false)));
  EXPECT_EQ(t.scalar_type(), torch::kInt);
  EXPECT_TRUE(t.equal(torch::tensor({0, 40000, 65535}, torch::kInt)));
}

TEST(Npy, ReadsBool) {
  TempDir dir;
  const auto t =
      load_bytes(dir, npy_file(dict("|b1", "(2, 2)"), std::string("\x01\x00\x00\x01", 4)));
  EXPECT_EQ(t.scalar_type(), torch::kBool);
  EXPECT_TRUE(t.equal(torch::tensor({{true, false}, {false, true}})));
}

TEST(Npy, ReadsFortranOrder) {
  TempDir dir;
  // a = [[0,1,2],[3,4,5]] stored column by column.
  const auto t = load_bytes(
      dir, npy_file(dict("<i4", "(2, 3)", true), encode<int32_t>({0, 3, 1, 4, 2, 5}, false)));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_TRUE(t.equal(torch::arange(6, torch::kInt).view({2, 3})));

  // 3-d: element (i,j,k) at offset i + 2j + 4k.
  std::vector<float> column_major(2 * 2 * 3);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k)
        column_major[i + 2 * j + 4 * k] = static_cast<float>(100 * i + 10 * j + k);
  const auto t3 =
      load_bytes(dir, npy_file(dict("<f4", "(2, 2, 3)", true), encode(column_major, false)));
  ASSERT_EQ(t3.sizes(), torch::IntArrayRef({2, 2, 3}));
  EXPECT_EQ(t3[1][0][2].item<float>(), 102.f);
  EXPECT_EQ(t3[0][1][1].item<float>(), 11.f);
}

TEST(Npy, ReadsVersions2And3AndScalars) {
  TempDir dir;
  const auto v2 = load_bytes(dir, npy_file(dict("<f8", "(2,)"), encode<double>({1, 2}, false), 2));
  EXPECT_TRUE(v2.equal(torch::tensor({1.0, 2.0}, torch::kDouble)));
  const auto v3 = load_bytes(dir, npy_file(dict("<i2", "(1, 1)"), encode<int16_t>({9}, false), 3));
  EXPECT_TRUE(v3.equal(torch::tensor({{9}}, torch::kShort)));
  const auto scalar = load_bytes(dir, npy_file(dict("<f4", "()"), encode<float>({2.5f}, false)));
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.item<float>(), 2.5f);
  const auto empty = load_bytes(dir, npy_file(dict("<f4", "(0, 4)"), ""));
  EXPECT_EQ(empty.sizes(), torch::IntArrayRef({0, 4}));
}

TEST(Npy, MalformedFilesAreErrorsNamingTheField) {
  TempDir dir;
  const std::string good_data = encode<float>({1, 2}, false);
  expect_error(dir, "not an npy file at all", "magic");
  std::string v4 = npy_file(dict("<f4", "(2,)"), good_data);
  v4[6] = 4;
  expect_error(dir, v4, "version 4.0");
  expect_error(dir, npy_file(dict("<c8", "(2,)"), good_data), "'descr'");
  expect_error(dir, npy_file(dict("<q4", "(2,)"), good_data), "<q4");
  expect_error(dir, npy_file(dict("|f4", "(2,)"), good_data), "'descr'");
  expect_error(dir, npy_file(dict("<f4", "(3,)"), good_data), "truncated");
  expect_error(dir, npy_file(dict("<f4", "(1,)"), good_data), "trailing");
  expect_error(dir, npy_file(dict("<f4", "(a,)"), good_data), "'shape'");
  expect_error(dir, npy_file("{'descr': '<f4', 'fortran_order': False, }", good_data), "'shape'");
  expect_error(dir,
               npy_file("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", good_data),
               "'fortran_order'");
  expect_error(
      dir,
      npy_file("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }", good_data),
      "structured");
  std::string long_header = npy_file(dict("<f4", "(2,)"), good_data);
  long_header[8] = '\xff';
  long_header[9] = '\x7f';
  expect_error(dir, long_header, "header length");
  expect_error(dir, std::string("\x93NUMPY\x01", 7), "magic");
}

TEST(Npy, MissingFileIsError) {
  TempDir dir;
  EXPECT_THROW(load_npy(dir.file("missing.npy")), Error);
}

TEST(Npy, SaveLoadRoundTripsEveryDtype) {
  TempDir dir;
  const std::string path = dir.file("round.npy");
  const auto base = torch::tensor({{-3.0, 0.0, 1.5}, {2.0, 100.0, -0.25}}, torch::kDouble);
  for (const auto dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kChar, torch::kShort,
                           torch::kInt, torch::kLong}) {
    const auto tensor = base.to(dtype);
    save_npy(path, tensor);
    const auto loaded = load_npy(path);
    EXPECT_EQ(loaded.scalar_type(), dtype);
    EXPECT_TRUE(loaded.equal(tensor)) << dtype;
  }
  const auto bytes = torch::tensor({0, 200, 255}, torch::kByte);
  save_npy(path, bytes);
  EXPECT_TRUE(load_npy(path).equal(bytes));
  const auto flags = torch::tensor({true, false, true});
  save_npy(path, flags);
  EXPECT_TRUE(load_npy(path).equal(flags));
  // A non-contiguous view is saved in its logical order.
  const auto transposed = torch::arange(12, torch::kFloat).view({3, 4}).t();
  save_npy(path, transposed);
  EXPECT_TRUE(load_npy(path).equal(transposed));
  EXPECT_EQ(dir.entries(), 1u);
}

TEST(Npy, SaveWritesTheStandardHeader) {
  TempDir dir;
  const std::string path = dir.file("header.npy");
  save_npy(path, torch::zeros({2, 3}, torch::kFloat));
  const std::string bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_length =
      static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_length) % 64, 0u);
  EXPECT_EQ(bytes.size(), 10 + header_length + 2 * 3 * 4);
  const std::string header = bytes.substr(10, header_length);
  EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0), 0u)
      << header;
  EXPECT_EQ(header.back(), '\n');
}

TEST(Npy, SaveRejectsUnsupportedDtype) {
  TempDir dir;
  EXPECT_THROW(save_npy(dir.file("c.npy"), torch::zeros({2}, torch::kComplexFloat)), Error);
  EXPECT_EQ(dir.entries(), 0u);
}

}  // namespace
}  // namespace nddr
