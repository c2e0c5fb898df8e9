#pragma once
// The safetensors format (https://github.com/huggingface/safetensors): how
// nddr stores weights, so they move to and from PyTorch without pickle.
//
// Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON
// {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "value"}} padded with spaces to a multiple of 8,
// then the raw little-endian tensor data; offsets are relative to the data
// start, and the tensors tile it without gaps or overlaps.

#include <torch/torch.h>

#include <map>
#include <string>

namespace nddr {

/// The contents of a safetensors file.
struct SafetensorsFile {
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

/// Writes `tensors` (any device; stored contiguous, in name order) and
/// `metadata` atomically. dtypes: Float, Double, Half, BFloat16, Long, Int,
/// Short, Char, Byte, Bool; others, undefined tensors, an empty name or the
/// reserved name "__metadata__" are Errors. The metadata also records the
/// CRC-32 of the data section as "nddr_data_crc32" (a reserved metadata key).
void save_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// Reads a whole safetensors file into CPU tensors. Every structural problem
/// (truncation, header length past the end, bad JSON, unknown dtype, offsets
/// out of range, overlapping, leaving gaps or disagreeing with shape * dtype
/// size) is an Error naming the file and the tensor or key at fault, and so
/// is data whose CRC-32 differs from the recorded one (a flipped bit). Files
/// without a recorded CRC (older nddr files, other tools' files) load
/// unchecked; the CRC entry is not part of the returned metadata.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace nddr
