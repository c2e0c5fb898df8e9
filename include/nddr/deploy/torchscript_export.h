#pragma once
// A trained network as a self-contained TorchScript file: eval mode,
// BatchNorm folded, traced with LibTorch's C++ tracer and frozen, so it loads
// with torch::jit::load (C++) or torch.jit.load (Python) and no nddr code.

#include <torch/script.h>
#include <torch/torch.h>

#include <string>

#include "nddr/data/transforms.h"
#include "nddr/models/multitask_net.h"

namespace nddr {

/// Name of the extra file holding the metadata (JSON) in an exported file.
constexpr const char* kExportMetadataFile = "nddr.json";

struct ExportOptions {
  /// Size of the example input the tracer runs; the traced graph accepts any
  /// size and batch. At least twice the backbone's output stride per side,
  /// so stages of different strides have different sizes while tracing.
  TORCH_ARG(int64_t, height) = 64;
  TORCH_ARG(int64_t, width) = 64;
  /// How images are to be normalised before the network (recorded in the metadata).
  TORCH_ARG(NormalizeOptions, normalize) = {};
};

/// The network as a frozen TorchScript module: forward(images [N,C,H,W],
/// normalised as in training) returns a tuple with each task's raw output in
/// task order, as MultiTaskNet::forward gives them (dense tasks: logits at
/// the output stride; classification: logits [N,classes]). `net` is unchanged.
/// A trace size below the minimum is an Error.
torch::jit::Module trace_network(const MultiTaskNetImpl& net, const ExportOptions& options = {});

/// The metadata JSON stored as kExportMetadataFile: format version, backbone,
/// fusion, output stride, input channels and normalisation (mode; mean and
/// stddev for "mean_std"; channel order, scale and BGR mean for "bgr_mean"),
/// and the outputs in order, each with its task name, kind and channels.
std::string export_metadata(const MultiTaskNetImpl& net, const ExportOptions& options = {});

/// trace_network + export_metadata, saved atomically to `path`.
void export_torchscript(const MultiTaskNetImpl& net, const std::string& path,
                        const ExportOptions& options = {});

}  // namespace nddr
