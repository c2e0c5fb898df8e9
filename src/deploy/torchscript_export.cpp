#include "nddr/deploy/torchscript_export.h"

#include <nlohmann/json.hpp>

#include "nddr/compat.h"
#include "nddr/io/atomic_file.h"
#include "nddr/models/fold_batchnorm.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

int64_t output_stride(const MultiTaskNetImpl& net) {
  return make_backbone(net.options().backbone)->stages().back().stride;
}

// Traced branches ("resize this stage map unless it already has the last
// one's size") are fixed at trace time; they are right for every size only if
// maps of different strides differ in size while tracing.
void check_trace_size(const MultiTaskNetImpl& net, const ExportOptions& options) {
  const int64_t minimum = 2 * output_stride(net);
  if (options.height() < minimum || options.width() < minimum) {
    throw Error("export: the trace size " + std::to_string(options.height()) + "x" +
                std::to_string(options.width()) + " must be at least " + std::to_string(minimum) +
                " per side (twice the output stride) for backbone '" + net.options().backbone.name +
                "'");
  }
}

}  // namespace

torch::jit::Module trace_network(const MultiTaskNetImpl& net, const ExportOptions& options) {
  check_trace_size(net, options);
  MultiTaskNet folded = batchnorm_folded(net);
  // The weights become constants of the graph, which must not require grad.
  for (auto& parameter : folded->parameters()) parameter.requires_grad_(false);
  const auto parameter = folded->parameters().front();
  const torch::Tensor example =
      torch::randn({2, net.options().backbone.in_channels, options.height(), options.width()},
                   parameter.options());
  torch::NoGradGuard no_grad;
  torch::jit::Module module = compat::trace_module("__torch__.nddr.ExportedNetwork", example,
                                                   [&](const torch::Tensor& images) {
                                                     const auto outputs = folded->forward(images);
                                                     std::vector<torch::Tensor> ordered;
                                                     for (const auto& task : folded->tasks())
                                                       ordered.push_back(outputs.at(task.name));
                                                     return ordered;
                                                   });
  return torch::jit::freeze(module);
}

std::string export_metadata(const MultiTaskNetImpl& net, const ExportOptions& options) {
  nlohmann::json outputs = nlohmann::json::array();
  for (const auto& task : net.tasks()) {
    outputs.push_back(
        {{"name", task.name},
         {"kind", to_string(task.kind)},
         {"channels", task.channels},
         {"shape", is_dense(task.kind) ? "[N,C,ceil(H/stride),ceil(W/stride)]" : "[N,C]"}});
  }
  const NormalizeOptions& normalize = options.normalize();
  nlohmann::json normalization = {{"mode", normalize.mode()}};
  // Enough for a user without nddr to prepare images from RGB in [0,1].
  if (normalize.mode() == "mean_std") {
    normalization["mean"] = normalize.mean();
    normalization["stddev"] = normalize.stddev();
  } else if (normalize.mode() == "bgr_mean") {
    normalization["channel_order"] = "BGR";
    normalization["scale"] = 255.0;
    normalization["bgr_mean"] = kReferenceBgrMean;
  }
  const nlohmann::json metadata = {
      {"format", "nddr-torchscript"},
      {"version", 1},
      {"backbone", net.options().backbone.name},
      {"fusion", net.options().fusion.method},
      {"output_stride", output_stride(net)},
      {"input",
       {{"layout", "NCHW"},
        {"channels", net.options().backbone.in_channels},
        {"normalize", normalization}}},
      {"outputs", outputs},
  };
  return metadata.dump(2);
}

void export_torchscript(const MultiTaskNetImpl& net, const std::string& path,
                        const ExportOptions& options) {
  const torch::jit::Module module = trace_network(net, options);
  const torch::jit::ExtraFilesMap extra = {{kExportMetadataFile, export_metadata(net, options)}};
  write_file_atomically(path, [&](std::ostream& out) { module.save(out, extra); });
}

}  // namespace nddr
