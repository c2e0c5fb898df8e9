#include "nddr/tasks/results.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "nddr/util/error.h"

namespace nddr {
namespace {

namespace fs = std::filesystem;

class ResultsFile : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() /
                 ("nddr_results_test_" + std::to_string(::getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }

  std::string path(const std::string& name) const { return (directory_ / name).string(); }

  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
    return path(name);
  }

  /// The Error message load_results gives for `text`.
  std::string load_error(const std::string& text) const {
    const auto file = write("bad.json", text);
    try {
      load_results(file);
    } catch (const Error& error) {
      return error.what();
    }
    return "no error";
  }

  fs::path directory_;
};

RunResults example() {
  RunResults results;
  results.method = "nddr";
  results.config = "model:\n  fusion: nddr\n";
  results.tasks["seg"] = {{"miou", 0.1 + 0.2}, {"pixel_acc", 2.0 / 3.0}};
  results.tasks["normals"] = {{"mean", 17.123456789012345}, {"median", std::nan("")}};
  results.higher_is_better["seg"] = {{"miou", true}, {"pixel_acc", true}};
  results.higher_is_better["normals"] = {{"mean", false}, {"median", false}};
  results.info = {{"checkpoint", "runs/a \"final\".pt"}, {"steps", "20000"}};
  return results;
}

TEST_F(ResultsFile, RoundTripKeepsEveryValueExactly) {
  const auto original = example();
  save_results(path("r.json"), original);
  const auto loaded = load_results(path("r.json"));
  EXPECT_EQ(loaded.method, original.method);
  EXPECT_EQ(loaded.config, original.config);
  EXPECT_EQ(loaded.info, original.info);
  EXPECT_EQ(loaded.higher_is_better, original.higher_is_better);
  EXPECT_EQ(loaded.tasks.at("seg"), original.tasks.at("seg"));  // bit-exact doubles
  EXPECT_EQ(loaded.tasks.at("normals").at("mean"), original.tasks.at("normals").at("mean"));
  EXPECT_TRUE(std::isnan(loaded.tasks.at("normals").at("median")));
}

TEST_F(ResultsFile, SaveReplacesAtomicallyAndLeavesNoTemporary) {
  save_results(path("r.json"), example());
  auto second = example();
  second.method = "single";
  save_results(path("r.json"), second);
  EXPECT_EQ(load_results(path("r.json")).method, "single");
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(directory_)) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(ResultsFile, UnwritableDirectoryIsAnError) {
  EXPECT_THROW(save_results(path("missing/r.json"), example()), Error);
}

TEST_F(ResultsFile, BadFilesAreErrorsNamingFileAndKey) {
  EXPECT_THROW(load_results(path("absent.json")), Error);
  EXPECT_NE(load_error("{\"method\": ").find("not valid JSON"), std::string::npos);
  EXPECT_NE(load_error("{\"method\": \"x\"}").find("bad.json"), std::string::npos);
  EXPECT_NE(load_error("{\"method\": \"x\"}").find("'tasks'"), std::string::npos);
  EXPECT_NE(load_error("{\"method\": 3, \"tasks\": {}, \"higher_is_better\": {}}").find("'method'"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"method": "x", "tasks": {"seg": {"miou": "high"}},
                         "higher_is_better": {"seg": {"miou": true}}})")
                .find("'tasks.seg.miou'"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"method": "x", "tasks": {"seg": {"miou": 0.5}},
                         "higher_is_better": {"seg": {}}})")
                .find("'higher_is_better.seg.miou'"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"method": "x", "tasks": {}, "higher_is_better": {},
                         "info": {"steps": 5}})")
                .find("'info.steps'"),
            std::string::npos);
}

TEST(ResultsDeltaM, PoolsSingleTaskRuns) {
  RunResults multi;
  multi.tasks = {{"seg", {{"miou", 0.5}}}, {"depth", {{"rmse", 0.9}}}};
  multi.higher_is_better = {{"seg", {{"miou", true}}}, {"depth", {{"rmse", false}}}};
  RunResults seg;
  seg.method = "single-seg";
  seg.tasks = {{"seg", {{"miou", 0.4}}}};
  RunResults depth;
  depth.method = "single-depth";
  depth.tasks = {{"depth", {{"rmse", 1.0}}}};
  // seg +25%, depth +10% (lower is better).
  EXPECT_NEAR(delta_m(multi, {seg, depth}), (25.0 + 10.0) / 2, 1e-12);
  EXPECT_THROW(delta_m(multi, {seg, depth, seg}), Error);
  EXPECT_THROW(delta_m(multi, {seg}), Error);
}

TEST(ResultsDeltaM, OverSelectedMetricsOnly) {
  RunResults multi;
  multi.tasks = {{"seg", {{"miou", 0.5}, {"pixel_acc", 0.5}}}, {"depth", {{"rmse", 0.9}}}};
  multi.higher_is_better = {{"seg", {{"miou", true}, {"pixel_acc", true}}},
                            {"depth", {{"rmse", false}}}};
  RunResults single;
  single.tasks = {{"seg", {{"miou", 0.4}, {"pixel_acc", 0.5}}}, {"depth", {{"rmse", 1.0}}}};
  // Per task, then over tasks. All: ((+25 + 0) / 2 + 10) / 2; miou and
  // rmse only: (+25 + 10) / 2.
  EXPECT_NEAR(delta_m(multi, {single}), 11.25, 1e-12);
  const std::vector<std::string> keys = {"seg.miou", "depth.rmse"};
  EXPECT_NEAR(delta_m(select_metrics(multi, keys), {select_metrics(single, keys)}), 17.5, 1e-12);
  EXPECT_EQ(select_metrics(multi, {}).tasks, multi.tasks);
  EXPECT_TRUE(missing_metrics(multi, keys).empty());
  EXPECT_EQ(missing_metrics(multi, {"seg.miou", "seg.mIoU", "normals.mean", "depth"}),
            (std::vector<std::string>{"seg.mIoU", "normals.mean", "depth"}));
}

}  // namespace
}  // namespace nddr
