#include "nddr/io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "byte_order.h"
#include "nddr/io/atomic_file.h"
#include "nddr/io/checksum.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

using io_detail::host_is_little_endian;
using json = nlohmann::json;

constexpr char kMetadataKey[] = "__metadata__";
// CRC-32 of the data section, in the metadata (files written before it
// existed, and by other tools, have none and load unchecked).
constexpr char kChecksumKey[] = "nddr_data_crc32";
// Entries are objects of strings and arrays of integers: depth 3.
constexpr int kMaxHeaderDepth = 8;
constexpr uint64_t kLengthSize = 8;
// The reference implementation rejects larger headers; so do we, before
// allocating a buffer for a corrupt length.
constexpr uint64_t kMaxHeaderSize = 100'000'000;

struct DtypeName {
  const char* name;
  torch::ScalarType type;
};

constexpr DtypeName kDtypes[] = {
    {"F32", torch::kFloat},     {"F64", torch::kDouble}, {"F16", torch::kHalf},
    {"BF16", torch::kBFloat16}, {"I64", torch::kLong},   {"I32", torch::kInt},
    {"I16", torch::kShort},     {"I8", torch::kChar},    {"U8", torch::kByte},
    {"BOOL", torch::kBool},
};

std::string dtype_list() {
  std::string names;
  for (const auto& dtype : kDtypes) names += (names.empty() ? "" : " ") + std::string(dtype.name);
  return names;
}

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw Error("safetensors file '" + path + "': " + problem);
}

// One header entry, validated against itself; file-wide checks come later.
struct Entry {
  std::string name;
  torch::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

std::vector<int64_t> parse_shape(const std::string& path, const std::string& name,
                                 const json& value) {
  if (!value.is_array()) fail(path, "tensor '" + name + "': 'shape' is not an array");
  std::vector<int64_t> shape;
  for (const json& dim : value) {
    if (!dim.is_number_unsigned() ||
        dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail(path, "tensor '" + name + "': 'shape' " + value.dump() +
                     " holds something other than a non-negative integer");
    }
    shape.push_back(dim.get<int64_t>());
  }
  return shape;
}

Entry parse_entry(const std::string& path, const std::string& name, const json& value) {
  const std::string where = "tensor '" + name + "': ";
  if (!value.is_object()) fail(path, where + "entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key)) fail(path, where + "lacks '" + key + "'");
  }
  Entry entry;
  entry.name = name;
  const json& dtype = value["dtype"];
  if (!dtype.is_string()) fail(path, where + "'dtype' is not a string");
  const auto* known = std::find_if(std::begin(kDtypes), std::end(kDtypes), [&](const auto& d) {
    return dtype.get<std::string>() == d.name;
  });
  if (known == std::end(kDtypes)) {
    fail(path, where + "unsupported dtype '" + dtype.get<std::string>() +
                   "' (supported: " + dtype_list() + ")");
  }
  entry.type = known->type;
  entry.shape = parse_shape(path, name, value["shape"]);
  const json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    fail(path,
         where + "'data_offsets' " + offsets.dump() + " is not a pair of non-negative integers");
  }
  entry.begin = offsets[0].get<uint64_t>();
  entry.end = offsets[1].get<uint64_t>();
  if (entry.end < entry.begin)
    fail(path, where + "'data_offsets' " + offsets.dump() + " end before begin");

  uint64_t bytes = c10::elementSize(entry.type);
  for (const int64_t dim : entry.shape) {
    if (dim != 0 && bytes > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(dim)) {
      fail(path, where + "shape " + value["shape"].dump() + " is too large");
    }
    bytes *= static_cast<uint64_t>(dim);
  }
  if (entry.end - entry.begin != bytes) {
    fail(path, where + "'data_offsets' " + offsets.dump() + " span " +
                   std::to_string(entry.end - entry.begin) + " bytes but shape " +
                   value["shape"].dump() + " of " + dtype.get<std::string>() + " needs " +
                   std::to_string(bytes));
  }
  return entry;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& value) {
  if (!value.is_object()) fail(path, "'__metadata__' is not an object");
  std::map<std::string, std::string> metadata;
  for (const auto& item : value.items()) {
    if (!item.value().is_string()) {
      fail(path, "'__metadata__' key '" + item.key() + "' is not a string: " + item.value().dump());
    }
    metadata[item.key()] = item.value().get<std::string>();
  }
  return metadata;
}

// The tensors must tile the data section exactly, in offset order.
void check_layout(const std::string& path, std::vector<Entry>& entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t position = 0;
  const Entry* previous = nullptr;
  for (const Entry& entry : entries) {
    const std::string range =
        "[" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "]";
    if (entry.end > data_size) {
      fail(path, "tensor '" + entry.name + "': 'data_offsets' " + range +
                     " run past the end of the " + std::to_string(data_size) +
                     "-byte data section (file truncated?)");
    }
    if (entry.begin < position) {
      fail(path, "tensor '" + entry.name + "': 'data_offsets' " + range + " overlap tensor '" +
                     previous->name + "'");
    }
    if (entry.begin > position) {
      fail(path, "tensor '" + entry.name + "': 'data_offsets' " + range + " leave a gap at byte " +
                     std::to_string(position));
    }
    position = entry.end;
    previous = &entry;
  }
  if (position != data_size) {
    fail(path, std::to_string(data_size - position) + " bytes after the last tensor's data");
  }
}

}  // namespace

void save_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& item : tensors) {
    // Named references, not a structured binding: lambdas below capture them.
    const std::string& name = item.first;
    const torch::Tensor& tensor = item.second;
    const std::string where = "cannot save '" + path + "': tensor '" + name + "' ";
    if (name.empty() || name == kMetadataKey) throw Error(where + "has a reserved name");
    if (!tensor.defined()) throw Error(where + "is undefined");
    const auto* known = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                     [&](const auto& d) { return tensor.scalar_type() == d.type; });
    if (known == std::end(kDtypes)) {
      throw Error(where + "has unsupported dtype " +
                  std::string(c10::toString(tensor.scalar_type())) +
                  " (supported: " + dtype_list() + ")");
    }
    torch::Tensor stored = tensor.detach().to(torch::kCPU).contiguous();
    if (!host_is_little_endian()) {
      stored = stored.clone();
      io_detail::swap_bytes(stored.data_ptr(), stored.numel(), stored.element_size());
    }
    const uint64_t size = stored.nbytes();
    header[name] = {{"dtype", known->name},
                    {"shape", stored.sizes().vec()},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
    data.push_back(std::move(stored));
  }
  if (metadata.count(kChecksumKey)) {
    throw Error("cannot save '" + path + "': metadata key '" + kChecksumKey + "' is reserved");
  }
  uint32_t crc = 0;
  for (const auto& tensor : data) crc = crc32_update(crc, tensor.data_ptr(), tensor.nbytes());
  auto stored_metadata = metadata;
  stored_metadata[kChecksumKey] = crc32_hex(crc);
  header[kMetadataKey] = stored_metadata;

  std::string text;
  try {
    text = header.dump();
  } catch (const json::type_error& error) {
    throw Error("cannot save '" + path + "': a name or metadata entry is not valid UTF-8 (" +
                error.what() + ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string prefix;
  io_detail::append_little_endian(prefix, text.size(), kLengthSize);

  write_file_atomically(path, [&](std::ostream& out) {
    out.write(prefix.data(), static_cast<std::streamsize>(prefix.size()));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& tensor : data) {
      out.write(static_cast<const char*>(tensor.data_ptr()),
                static_cast<std::streamsize>(tensor.nbytes()));
    }
  });
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open safetensors file '" + path + "': " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  if (file_size < kLengthSize) {
    fail(path, "truncated: " + std::to_string(file_size) +
                   " bytes, too short for the 8-byte header length");
  }
  char length_bytes[kLengthSize];
  in.read(length_bytes, kLengthSize);
  const uint64_t header_size = io_detail::read_little_endian(length_bytes, kLengthSize);
  if (header_size > file_size - kLengthSize) {
    fail(path, "header length " + std::to_string(header_size) + " runs past the end of the " +
                   std::to_string(file_size) + "-byte file");
  }
  if (header_size > kMaxHeaderSize) {
    fail(path, "header length " + std::to_string(header_size) + " exceeds the 100 MB limit");
  }
  std::string text(header_size, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_size))) fail(path, "read error");

  json header;
  const auto bounded = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxHeaderDepth) {
      fail(path,
           "header JSON is nested deeper than " + std::to_string(kMaxHeaderDepth) + " levels");
    }
    return true;
  };
  try {
    header = json::parse(text, bounded);
  } catch (const json::exception& error) {
    // parse_error, and out_of_range for a number beyond double ("1e999").
    fail(path, std::string("header is not valid JSON: ") + error.what());
  }
  if (!header.is_object()) fail(path, "header is not a JSON object");

  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto& item : header.items()) {
    if (item.key() == kMetadataKey) {
      file.metadata = parse_metadata(path, item.value());
    } else {
      entries.push_back(parse_entry(path, item.key(), item.value()));
    }
  }
  check_layout(path, entries, file_size - kLengthSize - header_size);

  // Entries are now in offset order, which is the order of the bytes on disk.
  uint32_t crc = 0;
  for (const Entry& entry : entries) {
    const bool is_bool = entry.type == torch::kBool;
    torch::Tensor tensor = torch::empty(entry.shape, is_bool ? torch::kByte : entry.type);
    if (!in.read(static_cast<char*>(tensor.data_ptr()),
                 static_cast<std::streamsize>(entry.end - entry.begin))) {
      fail(path, "tensor '" + entry.name + "': read error");
    }
    crc = crc32_update(crc, tensor.data_ptr(), entry.end - entry.begin);
    if (!host_is_little_endian()) {
      io_detail::swap_bytes(tensor.data_ptr(), tensor.numel(), tensor.element_size());
    }
    // Any non-zero byte means true; reading bytes straight into a bool tensor
    // would let values other than 0/1 through.
    file.tensors[entry.name] = is_bool ? tensor.ne(0) : tensor;
  }
  const auto stored = file.metadata.find(kChecksumKey);
  if (stored != file.metadata.end()) {
    if (stored->second != crc32_hex(crc)) {
      fail(path, "the data's checksum is " + crc32_hex(crc) + " but the file records " +
                     stored->second + ": the file is corrupt (a changed or damaged byte)");
    }
    file.metadata.erase(stored);
  }
  return file;
}

}  // namespace nddr
