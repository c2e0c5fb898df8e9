#include "nddr/io/npy.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <vector>

#include "byte_order.h"
#include "nddr/io/atomic_file.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

using io_detail::host_is_little_endian;

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// numpy aligns the data to 64 bytes so the array can be memory-mapped.
constexpr size_t kAlignment = 64;

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// How a descr maps onto LibTorch: the dtype the bytes are read as and the
// dtype of the returned tensor (they differ for u2 and b1).
struct NpyType {
  torch::ScalarType stored;
  torch::ScalarType result;
  int64_t item_size;
  bool big_endian;
};

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw Error("npy file '" + path + "': " + problem);
}

// The header is a Python dict literal, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(const std::string& path, const std::string& text) : path_(path), text_(text) {}

  NpyHeader parse() {
    NpyHeader header;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = parse_string("a key");
      expect(':');
      if (key == "descr") {
        skip_space();
        if (peek() == '[') fail(path_, "field 'descr': structured dtypes are not supported");
        header.descr = parse_string("field 'descr'");
        has_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = parse_bool();
        has_order = true;
      } else if (key == "shape") {
        header.shape = parse_shape();
        has_shape = true;
      } else {
        fail(path_, "unexpected header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        fail(path_, "malformed header after field '" + key + "': " + text_);
      }
    }
    if (!has_descr) fail(path_, "header lacks field 'descr'");
    if (!has_order) fail(path_, "header lacks field 'fortran_order'");
    if (!has_shape) fail(path_, "header lacks field 'shape'");
    return header;
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  void expect(char wanted) {
    skip_space();
    if (peek() != wanted) {
      fail(path_, std::string("malformed header, expected '") + wanted + "' at offset " +
                      std::to_string(pos_) + ": " + text_);
    }
    ++pos_;
  }

  std::string parse_string(const std::string& what) {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail(path_, what + " is not a string: " + text_);
    const auto end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail(path_, what + " has an unterminated string: " + text_);
    std::string value = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return value;
  }

  bool parse_bool() {
    skip_space();
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail(path_, "field 'fortran_order' is not True or False: " + text_);
  }

  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(');
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        fail(path_, "field 'shape' is not a tuple of non-negative integers: " + text_);
      }
      int64_t value = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) {
          fail(path_, "field 'shape' has a dimension too large: " + text_);
        }
        value = value * 10 + (text_[pos_++] - '0');
      }
      if (peek() == 'L') ++pos_;  // Python 2 long literal
      shape.push_back(value);
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        fail(path_, "field 'shape' is malformed: " + text_);
      }
    }
    ++pos_;
    return shape;
  }

  const std::string& path_;
  const std::string& text_;
  size_t pos_ = 0;
};

NpyType parse_descr(const std::string& path, const std::string& descr) {
  const auto bad = [&](const std::string& why) {
    fail(path, "field 'descr' is '" + descr + "': " + why);
  };
  if (descr.size() < 3) bad("expected <byte order><kind><size>, e.g. '<f4'");
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    bad("unknown byte order '" + std::string(1, order) + "'");
  }
  const std::string code = descr.substr(1);
  NpyType type{};
  if (code == "f2") {
    type = {torch::kHalf, torch::kHalf, 2, false};
  } else if (code == "f4") {
    type = {torch::kFloat, torch::kFloat, 4, false};
  } else if (code == "f8") {
    type = {torch::kDouble, torch::kDouble, 8, false};
  } else if (code == "u1") {
    type = {torch::kByte, torch::kByte, 1, false};
  } else if (code == "b1") {
    type = {torch::kByte, torch::kBool, 1, false};
  } else if (code == "i1") {
    type = {torch::kChar, torch::kChar, 1, false};
  } else if (code == "i2") {
    type = {torch::kShort, torch::kShort, 2, false};
  } else if (code == "u2") {
    type = {torch::kShort, torch::kInt, 2, false};
  } else if (code == "i4") {
    type = {torch::kInt, torch::kInt, 4, false};
  } else if (code == "i8") {
    type = {torch::kLong, torch::kLong, 8, false};
  } else {
    bad("unsupported dtype (supported: f2 f4 f8 u1 u2 i1 i2 i4 i8 b1)");
  }
  if (order == '|' && type.item_size > 1) bad("'|' (no byte order) on a multi-byte type");
  type.big_endian = order == '>' || (order == '=' && !host_is_little_endian());
  return type;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += std::to_string(shape[i]);
    if (i + 1 < shape.size() || shape.size() == 1) text += ",";
    if (i + 1 < shape.size()) text += " ";
  }
  return text + ")";
}

int64_t element_count(const std::string& path, const std::vector<int64_t>& shape,
                      int64_t item_size) {
  int64_t count = 1;
  for (const int64_t dim : shape) {
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / item_size / dim) {
      fail(path, "field 'shape' " + shape_text(shape) + " is too large");
    }
    count *= dim;
  }
  return count;
}

// The raw u2 / b1 / byte-swapped data reinterpreted as the dtype load_npy returns.
torch::Tensor to_result(torch::Tensor raw, const NpyType& type) {
  if (type.result == torch::kBool) return raw.ne(0);
  if (type.result != type.stored) {
    // u2 was read as int16: reinterpret the bit pattern as unsigned.
    return raw.to(torch::kInt).bitwise_and(0xffff);
  }
  return raw;
}

std::string descr_of(const std::string& path, torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat:
      return "<f4";
    case torch::kDouble:
      return "<f8";
    case torch::kHalf:
      return "<f2";
    case torch::kByte:
      return "|u1";
    case torch::kChar:
      return "|i1";
    case torch::kShort:
      return "<i2";
    case torch::kInt:
      return "<i4";
    case torch::kLong:
      return "<i8";
    case torch::kBool:
      return "|b1";
    default:
      throw Error("cannot save '" + path + "' as npy: unsupported dtype " +
                  std::string(c10::toString(dtype)));
  }
}

}  // namespace

torch::Tensor load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open npy file '" + path + "': " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<int64_t>(in.tellg());
  in.seekg(0);

  char prefix[kMagicSize + 2];
  if (!in.read(prefix, sizeof prefix) || std::string(prefix, kMagicSize) != kMagic) {
    fail(path, "not an npy file (bad magic string)");
  }
  const int major = static_cast<uint8_t>(prefix[kMagicSize]);
  const int minor = static_cast<uint8_t>(prefix[kMagicSize + 1]);
  if (major < 1 || major > 3 || minor != 0) {
    fail(path, "unsupported format version " + std::to_string(major) + "." + std::to_string(minor) +
                   " (supported: 1.0, 2.0, 3.0)");
  }
  const int length_size = major == 1 ? 2 : 4;
  char length_bytes[4];
  if (!in.read(length_bytes, length_size)) fail(path, "truncated header length");
  const auto header_length =
      static_cast<int64_t>(io_detail::read_little_endian(length_bytes, length_size));
  const int64_t data_offset = static_cast<int64_t>(kMagicSize) + 2 + length_size + header_length;
  if (data_offset > file_size) {
    fail(path, "header length " + std::to_string(header_length) + " runs past the end of the " +
                   std::to_string(file_size) + "-byte file");
  }
  std::string header_text(static_cast<size_t>(header_length), '\0');
  in.read(header_text.data(), header_length);

  const NpyHeader header = HeaderParser(path, header_text).parse();
  const NpyType type = parse_descr(path, header.descr);
  const int64_t count = element_count(path, header.shape, type.item_size);
  const int64_t data_size = count * type.item_size;
  if (file_size - data_offset != data_size) {
    fail(path,
         "data is " + std::to_string(file_size - data_offset) + " bytes but shape " +
             shape_text(header.shape) + " of '" + header.descr + "' needs " +
             std::to_string(data_size) +
             (file_size - data_offset < data_size ? " (file truncated)" : " (trailing bytes)"));
  }

  // Fortran order is C order of the reversed shape, transposed back.
  std::vector<int64_t> stored_shape = header.shape;
  if (header.fortran_order) std::reverse(stored_shape.begin(), stored_shape.end());
  torch::Tensor raw = torch::empty(stored_shape, torch::TensorOptions().dtype(type.stored));
  if (!in.read(static_cast<char*>(raw.data_ptr()), data_size)) fail(path, "read error in data");
  if (type.big_endian == host_is_little_endian()) {
    io_detail::swap_bytes(raw.data_ptr(), count, type.item_size);
  }
  if (header.fortran_order) {
    std::vector<int64_t> order(stored_shape.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(order.size() - 1 - i);
    raw = raw.permute(order).contiguous();
  }
  return to_result(raw, type);
}

void save_npy(const std::string& path, const torch::Tensor& tensor) {
  if (!tensor.defined()) throw Error("cannot save '" + path + "' as npy: undefined tensor");
  const std::string descr = descr_of(path, tensor.scalar_type());
  torch::Tensor data = tensor.detach().to(torch::kCPU).contiguous();
  if (!host_is_little_endian()) {
    data = data.clone();
    io_detail::swap_bytes(data.data_ptr(), data.numel(), data.element_size());
  }

  std::string header = "{'descr': '" + descr +
                       "', 'fortran_order': False, 'shape': " + shape_text(data.sizes().vec()) +
                       ", }";
  // Version 1.0 stores the header length in 2 bytes; longer headers need 2.0.
  const size_t padded_v1 =
      (kMagicSize + 4 + header.size() + 1 + kAlignment - 1) / kAlignment * kAlignment;
  const int major = padded_v1 - kMagicSize - 4 <= 0xffff ? 1 : 2;
  const size_t prefix_size = kMagicSize + 2 + (major == 1 ? 2 : 4);
  const size_t total = (prefix_size + header.size() + 1 + kAlignment - 1) / kAlignment * kAlignment;
  header.append(total - prefix_size - header.size() - 1, ' ');
  header.push_back('\n');

  std::string prefix(kMagic, kMagicSize);
  prefix.push_back(static_cast<char>(major));
  prefix.push_back(0);
  io_detail::append_little_endian(prefix, header.size(), major == 1 ? 2 : 4);

  write_file_atomically(path, [&](std::ostream& out) {
    out.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(static_cast<const char*>(data.data_ptr()),
              static_cast<std::streamsize>(data.nbytes()));
  });
}

}  // namespace nddr
