#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "nddr/experiment/summary.h"
#include "support/temp_dir.h"

namespace nddr {
namespace {

// Hand-made results of run <dir>/<name>: seg miou (higher is better) and
// normals mean angle (lower is better), with the info train_from_config writes.
void write_run(const std::string& dir, const std::string& name, double miou, double angle,
               double seconds) {
  std::filesystem::create_directories(dir + "/" + name);
  RunResults results;
  results.method = name;
  results.tasks["seg"]["miou"] = miou;
  results.tasks["normals"]["mean"] = angle;
  results.higher_is_better["seg"]["miou"] = true;
  results.higher_is_better["normals"]["mean"] = false;
  results.info["parameters"] = "1234";
  results.info["macs"] = "5000000";
  results.info["train_seconds"] = std::to_string(seconds);
  save_results(dir + "/" + name + "/results.json", results);
  std::ofstream log(dir + "/" + name + "/log.jsonl");
  log << R"({"step": 10, "loss": )" << seconds << "}\n"
      << R"({"step": 20, "loss": )" << seconds / 2 << "}\n"
      << R"({"step": 20, "eval": {}})"
      << "\n"
      << R"({"step": 30, "loss": null})"
      << "\n";
}

ExperimentSpec spec_in(const std::string& dir) {
  return parse_experiment("name: t\nseeds: [0, 1]\nreference: single\noutput_dir: " + dir +
                              "\nreport_dir: " + dir +
                              "/report\n"
                              "methods: [{label: single}, {label: nddr}, {label: split}]\n"
                              "ablations: [{name: bn, method: nddr, seeds: [0],\n"
                              "  values: [{label: 'on', x: 1}, {label: 'off', x: 0}]}]\n",
                          "t.yaml", ".");
}

TEST(Summary, MeanStdIsTheSampleStatistic) {
  const MeanStd two = mean_std({1.0, 3.0});
  EXPECT_DOUBLE_EQ(two.mean, 2.0);
  EXPECT_DOUBLE_EQ(two.std, std::sqrt(2.0));
  EXPECT_EQ(two.count, 2u);
  EXPECT_DOUBLE_EQ(mean_std({5.0}).std, 0.0);
  EXPECT_EQ(mean_std({}).count, 0u);
  EXPECT_EQ(format_mean_std(two, 2), "2.00 ± 1.41");
  EXPECT_EQ(format_mean_std(mean_std({5.0}), 1), "5.0");
  EXPECT_EQ(format_mean_std(mean_std({}), 1), "-");
  EXPECT_EQ(format_mean_std(mean_std({-0.001}), 2), "0.00");
}

TEST(Summary, DeltaMIsPerSeedAgainstTheSameSeedsReference) {
  testing::TempDir dir("nddr_experiment_summary_");
  write_run(dir.str(), "single-s0", 0.5, 30, 10);
  write_run(dir.str(), "single-s1", 0.4, 20, 12);
  write_run(dir.str(), "nddr-s0", 0.55, 27, 20);  // +10% miou, +10% angle: +10
  write_run(dir.str(), "nddr-s1", 0.4, 22, 22);   // 0% miou, -10% angle: -5
  write_run(dir.str(), "bn-on-s0", 0.6, 30, 1);   // +20%, 0%: +10
  const auto rows = summarize(spec_in(dir.str()));
  ASSERT_EQ(rows.size(), 5u);

  EXPECT_EQ(rows[0].row, "single");
  EXPECT_NEAR(rows[0].delta_m.mean, 0.0, 1e-9);
  EXPECT_NEAR(rows[0].metrics.at("seg.miou").mean, 0.45, 1e-12);
  EXPECT_NEAR(rows[0].train_seconds.mean, 11.0, 1e-9);

  EXPECT_EQ(rows[1].row, "nddr");
  EXPECT_EQ(rows[1].seeds, (std::vector<int64_t>{0, 1}));
  EXPECT_NEAR(rows[1].delta_m.mean, 2.5, 1e-9);
  EXPECT_NEAR(rows[1].delta_m.std, std::sqrt(2 * 7.5 * 7.5), 1e-9);
  ASSERT_EQ(rows[1].delta_m_per_seed.size(), 2u);
  EXPECT_NEAR(rows[1].delta_m_per_seed[0], 10.0, 1e-9);
  EXPECT_NEAR(rows[1].delta_m_per_seed[1], -5.0, 1e-9);
  // With several seeds the table spells out each seed's delta_m.
  const Table table = summary_table(spec_in(dir.str()), rows, "");
  const auto column = std::find(table.header.begin(), table.header.end(), "Δm per seed");
  ASSERT_NE(column, table.header.end());
  EXPECT_EQ(table.rows[1][column - table.header.begin()], "+10.0 / -5.0");
  EXPECT_NEAR(rows[1].metrics.at("normals.mean").mean, 24.5, 1e-12);
  EXPECT_FALSE(rows[1].higher_is_better.at("normals.mean"));
  EXPECT_EQ(rows[1].parameters, 1234);
  EXPECT_EQ(rows[1].macs, 5000000);

  // Unfinished runs are left out, not counted as zeros.
  EXPECT_EQ(rows[2].row, "split");
  EXPECT_TRUE(rows[2].seeds.empty());
  EXPECT_EQ(rows[2].delta_m.count, 0u);

  EXPECT_EQ(rows[3].row, "bn: on");
  EXPECT_EQ(rows[3].ablation, "bn");
  EXPECT_DOUBLE_EQ(*rows[3].x, 1.0);
  EXPECT_NEAR(rows[3].delta_m.mean, 10.0, 1e-9);
}

TEST(Summary, DeltaMUsesOnlyTheListedMetrics) {
  testing::TempDir dir("nddr_experiment_listed_");
  write_run(dir.str(), "single-s0", 0.5, 30, 10);
  write_run(dir.str(), "nddr-s0", 0.55, 60, 20);  // +10% miou; the angle is not listed
  const auto spec =
      parse_experiment("name: t\nseeds: [0]\nmetrics: [seg.miou]\noutput_dir: " + dir.str() +
                           "\nmethods: [{label: single}, {label: nddr}]\n",
                       "t.yaml", ".");
  const auto rows = summarize(spec);
  EXPECT_NEAR(rows[1].delta_m.mean, 10.0, 1e-9);
  EXPECT_EQ(summary_table(spec, rows, "").header[1], "seg.miou ↑");
}

TEST(Summary, InvalidRunsAreLeftOutAndNamed) {
  testing::TempDir dir("nddr_experiment_invalid_");
  write_run(dir.str(), "single-s0", 0.5, 30, 10);
  write_run(dir.str(), "nddr-s0", 0.55, 27, 20);
  write_run(dir.str(), "nddr-s1", 0.99, 1, 20);
  RunResults diverged = load_results(dir.str() + "/nddr-s1/results.json");
  diverged.info[kInvalidInfoKey] = "non-finite outputs on 4 of 4 test images";
  save_results(dir.str() + "/nddr-s1/results.json", diverged);
  const auto spec = parse_experiment("name: t\nseeds: [0, 1]\noutput_dir: " + dir.str() +
                                         "\nmethods: [{label: single}, {label: nddr}]\n",
                                     "t.yaml", ".");
  const auto rows = summarize(spec);
  EXPECT_EQ(rows[1].seeds, (std::vector<int64_t>{0}));
  EXPECT_EQ(rows[1].invalid_seeds, (std::vector<int64_t>{1}));
  EXPECT_NEAR(rows[1].metrics.at("seg.miou").mean, 0.55, 1e-12)
      << "the invalid seed's 0.99 counted";
  const auto table = summary_table(spec, rows, "");
  EXPECT_NE(table.rows[1][0].find("INVALID"), std::string::npos) << table.rows[1][0];
}

TEST(Summary, TablesAndReportFiles) {
  testing::TempDir dir("nddr_experiment_report_");
  write_run(dir.str(), "single-s0", 0.5, 30, 10);
  write_run(dir.str(), "nddr-s0", 0.55, 27, 20);
  write_run(dir.str(), "bn-on-s0", 0.6, 30, 1);
  write_run(dir.str(), "bn-off-s0", 0.4, 30, 1);
  const auto spec = spec_in(dir.str());
  const auto rows = summarize(spec);

  const Table methods = summary_table(spec, rows, "");
  ASSERT_EQ(methods.rows.size(), 3u);
  EXPECT_EQ(methods.header[1], "normals.mean ↓");
  EXPECT_EQ(methods.header[2], "seg.miou ↑");
  EXPECT_EQ(methods.rows[1][0], "nddr");
  EXPECT_EQ(methods.rows[1][3], "10.00");  // delta_m, one seed
  EXPECT_EQ(methods.rows[2][4], "0");      // split: no seeds finished

  // Ablation tables repeat the reference and the ablated method first.
  const Table bn = summary_table(spec, rows, "bn");
  ASSERT_EQ(bn.rows.size(), 4u);
  EXPECT_EQ(bn.rows[0][0], "single");
  EXPECT_EQ(bn.rows[1][0], "nddr");
  EXPECT_EQ(bn.rows[3][0], "bn: off");

  const std::string markdown = write_report(spec);
  EXPECT_NE(markdown.find("| nddr"), std::string::npos);
  for (const std::string file :
       {"t.md", "t.csv", "t-loss.png", "t-ablation-bn-delta_m.png", "t-ablation-bn-seg.miou.png"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.str() + "/report/" + file)) << file;
  }
  std::ifstream csv(dir.str() + "/report/t.csv");
  std::string header, line;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("ablation,row,", 0), 0u) << header;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 5);  // 3 methods + 2 ablation values
}

TEST(Summary, LossCurveIsTheMeanOverRuns) {
  testing::TempDir dir("nddr_experiment_curve_");
  write_run(dir.str(), "a", 0.5, 30, 4);
  write_run(dir.str(), "b", 0.5, 30, 8);
  const auto curve = mean_loss_curve({dir.str() + "/a", dir.str() + "/b"});
  ASSERT_EQ(curve.size(), 3u);
  EXPECT_DOUBLE_EQ(curve[0].first, 10);
  EXPECT_DOUBLE_EQ(curve[0].second, 6);
  EXPECT_DOUBLE_EQ(curve[1].second, 3);
  EXPECT_TRUE(std::isnan(curve[2].second));  // a diverged (null) loss stays a gap
}

}  // namespace
}  // namespace nddr
