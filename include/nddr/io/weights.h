#pragma once
// Module weights by name, as PyTorch's state_dict: save a network, and load
// nddr files or torchvision backbone files into a network or one of its columns.

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace nddr {

/// Every parameter and buffer of `module` by its dotted name, as PyTorch's
/// state_dict (BatchNorm's running_mean, running_var and num_batches_tracked
/// included). The tensors share storage with the module (detached).
std::map<std::string, torch::Tensor> state_dict(const torch::nn::Module& module);

/// Writes state_dict(module) and `metadata` as a safetensors file, atomically.
void save_weights(const std::string& path, const torch::nn::Module& module,
                  const std::map<std::string, std::string>& metadata = {});

/// How file names map onto module names. A file name f is matched to the module
/// entry add_prefix + (f without strip_prefix); file names lacking strip_prefix
/// and module entries lacking add_prefix take no part. Example, a torchvision
/// vgg16_bn file into the "seg" column of a network:
///   LoadOptions().add_prefix("columns.seg.").skip({"classifier."})
struct LoadOptions {
  /// Missing and unexpected tensors are errors (wrong shapes always are).
  TORCH_ARG(bool, strict) = true;
  /// Prepended to file names, e.g. "columns.seg." or "shared.".
  TORCH_ARG(std::string, add_prefix) = "";
  /// Removed from file names, e.g. "columns.seg." to load one column of a
  /// network file into a lone column module.
  TORCH_ARG(std::string, strip_prefix) = "";
  /// File-side name prefixes ignored on both sides, e.g. "classifier.", "fc.".
  TORCH_ARG(std::vector<std::string>, skip) = {};
};

/// Copies `tensors` into the matching parameters and buffers of `module`,
/// converting to each one's dtype and device. Missing (strict), unexpected
/// (strict) and wrongly shaped tensors are reported together in one Error
/// listing each name with its shapes; the module is then left untouched.
void load_weights(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& tensors,
                  const LoadOptions& options = {});

/// load_weights from a safetensors file; errors name the file.
void load_weights(torch::nn::Module& module, const std::string& path,
                  const LoadOptions& options = {});

}  // namespace nddr
