#include <gtest/gtest.h>

#include <cmath>

#include "nddr/experiment/fusion_analysis.h"
#include "nddr/io/weights.h"
#include "nddr/layers/nddr_layer.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

// The tensors of an NDDR layer as a network stores them under fusion.<index>.
void add_layer(std::map<std::string, torch::Tensor>& tensors, int index,
               const NddrLayerOptions& options) {
  NddrLayer layer(options);
  for (const auto& [name, tensor] : state_dict(*layer)) {
    tensors["fusion." + std::to_string(index) + "." + name] = tensor;
  }
}

TEST(FusionAnalysis, DiagonalInitGivesAlphaAndBetaTimesSqrtC) {
  constexpr int64_t kChannels = 9;
  std::map<std::string, torch::Tensor> tensors;
  add_layer(tensors, 0, NddrLayerOptions(2, kChannels).alpha(0.9).beta(0.1).batch_norm(false));
  // Index 10 sorts before 2 as text: layers must come out in index order.
  add_layer(tensors, 10, NddrLayerOptions(2, kChannels).alpha(0.5).beta(0.5).batch_norm(false));
  add_layer(tensors, 2, NddrLayerOptions(2, kChannels).alpha(1.0).beta(0.0).batch_norm(false));
  const auto analysis = analyze_fusion(tensors, {"seg", "normals"});
  ASSERT_EQ(analysis.layers, (std::vector<std::string>{"fusion.0", "fusion.2", "fusion.10"}));
  const double root_c = std::sqrt(static_cast<double>(kChannels));
  EXPECT_NEAR(analysis.norms[0][0][0], 0.9 * root_c, 1e-6);
  EXPECT_NEAR(analysis.norms[0][0][1], 0.1 * root_c, 1e-6);
  EXPECT_NEAR(analysis.norms[0][1][1], 0.9 * root_c, 1e-6);  // own block of task 1
  EXPECT_NEAR(analysis.norms[0][1][0], 0.1 * root_c, 1e-6);
  EXPECT_NEAR(analysis.share(0, 1, 1), 0.9, 1e-6);
  EXPECT_NEAR(analysis.norms[1][0][1], 0.0, 1e-9);
  EXPECT_NEAR(analysis.share(2, 0, 0), 0.5, 1e-6);
}

TEST(FusionAnalysis, BatchNormGainScalesEachOutputRow) {
  constexpr int64_t kChannels = 4;
  std::map<std::string, torch::Tensor> tensors;
  add_layer(tensors, 0, NddrLayerOptions(2, kChannels).alpha(0.9).beta(0.1));
  // Task 0's rows: gamma -2 on row 0 (sign ignored), running_var 3 on row 1.
  tensors["fusion.0.bn.0.weight"] = torch::tensor({-2.0, 1.0, 1.0, 1.0});
  tensors["fusion.0.bn.0.running_var"] = torch::tensor({1.0, 3.0, 1.0, 1.0});
  constexpr double kEps = 1e-3;
  const auto analysis = analyze_fusion(tensors, {"a", "b"}, kEps);
  // Row r of block j holds alpha or beta once: norm = value * sqrt(sum_r gain_r^2).
  const double gains = 4.0 / (1 + kEps) + 1.0 / (3 + kEps) + 2.0 / (1 + kEps);
  EXPECT_NEAR(analysis.norms[0][0][0], 0.9 * std::sqrt(gains), 1e-6);
  EXPECT_NEAR(analysis.norms[0][0][1], 0.1 * std::sqrt(gains), 1e-6);
  EXPECT_NEAR(analysis.norms[0][1][1], 0.9 * std::sqrt(4.0 / (1 + kEps)), 1e-6);
}

TEST(FusionAnalysis, ThreeTasksTableAndHeatmap) {
  std::map<std::string, torch::Tensor> tensors;
  add_layer(tensors, 0, NddrLayerOptions(3, 2).alpha(0.8).beta(0.1).batch_norm(false));
  const auto analysis = analyze_fusion(tensors, {"a", "b", "c"});
  EXPECT_NEAR(analysis.share(0, 2, 2), 0.8, 1e-6);
  const Table table = fusion_table(analysis);
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_EQ(table.header.size(), 7u);
  EXPECT_EQ(table.rows[2][0], "fusion.0 -> c");
  EXPECT_EQ(table.rows[2][6], "80.0");
  const Heatmap heatmap = fusion_heatmap(analysis, "t");
  EXPECT_EQ(heatmap.row_labels.size(), 3u);
  EXPECT_NEAR(heatmap.values[1][0], 10.0, 1e-4);
}

TEST(FusionAnalysis, ErrorsNameTheProblem) {
  std::map<std::string, torch::Tensor> tensors{{"columns.a.weight", torch::zeros({2})}};
  EXPECT_THROW(analyze_fusion(tensors, {"a", "b"}), Error);
  tensors["fusion.0.conv.0.weight"] = torch::zeros({4, 6, 1, 1});
  tensors["fusion.0.conv.1.weight"] = torch::zeros({4, 8, 1, 1});
  try {
    analyze_fusion(tensors, {"a", "b"});
    FAIL() << "a [4,6,1,1] weight for 2 tasks was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fusion.0.conv.0.weight"), std::string::npos);
  }
}

}  // namespace
}  // namespace nddr
