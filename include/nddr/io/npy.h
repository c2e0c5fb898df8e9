#pragma once
// NumPy .npy arrays (format versions 1.0, 2.0, 3.0): how the data engineers'
// fixtures, depth maps and precomputed labels reach LibTorch without Python.

#include <torch/torch.h>

#include <string>

namespace nddr {

/// Reads an .npy file. Supported dtypes (either byte order where it matters):
/// f2 f4 f8 -> Half/Float/Double, u1 -> Byte, i1 i2 i4 i8 -> Char/Short/Int/Long,
/// b1 -> Bool, u2 -> Int (LibTorch has no uint16; values are kept exactly).
/// Fortran-ordered arrays come back as contiguous C-ordered tensors. A
/// malformed file is an Error naming the file and the field at fault.
torch::Tensor load_npy(const std::string& path);

/// Writes a CPU tensor as a little-endian, C-ordered .npy file (version 1.0, or
/// 2.0 when the header needs it), atomically. dtypes: Float, Double, Half,
/// Byte, Char, Short, Int, Long, Bool; others are an Error.
void save_npy(const std::string& path, const torch::Tensor& tensor);

}  // namespace nddr
