#include "nddr/experiment/fusion_analysis.h"

#include <iomanip>
#include <regex>
#include <sstream>

#include "nddr/util/error.h"

namespace nddr {

namespace {

std::string fixed(double value, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << value;
  return out.str();
}

}  // namespace

double FusionAnalysis::share(size_t layer, size_t target, size_t source) const {
  double total = 0;
  for (double norm : norms.at(layer).at(target)) total += norm;
  return total > 0 ? norms[layer][target].at(source) / total : 0.0;
}

FusionAnalysis analyze_fusion(const std::map<std::string, torch::Tensor>& tensors,
                              const std::vector<std::string>& tasks, double bn_eps) {
  const int64_t num_tasks = static_cast<int64_t>(tasks.size());
  if (num_tasks < 2) throw Error("fusion analysis needs at least 2 tasks");
  static const std::regex kConv(R"(fusion\.(\d+)\.conv\.0\.weight)");
  std::map<int64_t, std::string> layers;  // sorted by index, not by name
  for (const auto& entry : tensors) {
    std::smatch match;
    if (std::regex_match(entry.first, match, kConv)) {
      layers[std::stoll(match[1])] = "fusion." + match[1].str();
    }
  }
  if (layers.empty()) {
    throw Error("no NDDR layers (fusion.<i>.conv.<k>.weight) among the " +
                std::to_string(tensors.size()) + " tensors: is this an nddr network?");
  }
  FusionAnalysis analysis;
  analysis.tasks = tasks;
  for (const auto& [index, prefix] : layers) {
    analysis.layers.push_back(prefix);
    std::vector<std::vector<double>> per_target;
    for (int64_t k = 0; k < num_tasks; ++k) {
      const std::string name = prefix + ".conv." + std::to_string(k) + ".weight";
      const auto it = tensors.find(name);
      if (it == tensors.end()) throw Error("missing tensor '" + name + "'");
      auto weight = it->second.to(torch::kDouble);
      if (weight.dim() != 4 || weight.size(1) != num_tasks * weight.size(0) ||
          weight.size(2) != 1 || weight.size(3) != 1) {
        std::ostringstream shape;
        shape << weight.sizes();
        throw Error("tensor '" + name + "' has shape " + shape.str() + ", expected [C, " +
                    std::to_string(num_tasks) + "*C, 1, 1]");
      }
      weight = weight.flatten(1);
      const std::string bn = prefix + ".bn." + std::to_string(k);
      if (tensors.count(bn + ".weight") && tensors.count(bn + ".running_var")) {
        const auto gain = tensors.at(bn + ".weight").to(torch::kDouble).abs() /
                          (tensors.at(bn + ".running_var").to(torch::kDouble) + bn_eps).sqrt();
        weight = weight * gain.unsqueeze(1);
      }
      std::vector<double> norms;
      for (const auto& block : weight.chunk(num_tasks, 1)) {
        norms.push_back(block.norm().item<double>());
      }
      per_target.push_back(norms);
    }
    analysis.norms.push_back(per_target);
  }
  return analysis;
}

Table fusion_table(const FusionAnalysis& analysis) {
  Table table;
  table.header = {"layer -> target"};
  for (const auto& source : analysis.tasks) {
    table.header.push_back("from " + source);
    table.header.push_back("share " + source + " %");
  }
  table.align.assign(table.header.size(), Align::kRight);
  table.align[0] = Align::kLeft;
  for (size_t l = 0; l < analysis.layers.size(); ++l) {
    for (size_t k = 0; k < analysis.tasks.size(); ++k) {
      std::vector<std::string> cells{analysis.layers[l] + " -> " + analysis.tasks[k]};
      for (size_t j = 0; j < analysis.tasks.size(); ++j) {
        cells.push_back(fixed(analysis.norms[l][k][j], 3));
        cells.push_back(fixed(100 * analysis.share(l, k, j), 1));
      }
      table.rows.push_back(std::move(cells));
    }
  }
  return table;
}

Heatmap fusion_heatmap(const FusionAnalysis& analysis, const std::string& title) {
  Heatmap heatmap;
  heatmap.title = title;
  heatmap.x_label = "source task";
  heatmap.y_label = "layer -> target task";
  heatmap.column_labels = analysis.tasks;
  heatmap.decimals = 1;
  heatmap.min = 0.0;
  heatmap.max = 100.0;
  for (size_t l = 0; l < analysis.layers.size(); ++l) {
    for (size_t k = 0; k < analysis.tasks.size(); ++k) {
      heatmap.row_labels.push_back(analysis.layers[l] + " -> " + analysis.tasks[k]);
      std::vector<double> row;
      for (size_t j = 0; j < analysis.tasks.size(); ++j)
        row.push_back(100 * analysis.share(l, k, j));
      heatmap.values.push_back(row);
    }
  }
  return heatmap;
}

}  // namespace nddr
