#pragma once
// Terminal progress for training: a bar with step, per-task loss, images/s
// and ETA, redrawn in place on a terminal and printed as lines otherwise.

#include <string>

#include "nddr/train/trainer.h"

namespace nddr::cli {

class ProgressPrinter : public TrainObserver {
 public:
  explicit ProgressPrinter(std::string label, bool quiet = false);
  ~ProgressPrinter() override;
  void on_step(const StepReport& report) override;
  void on_evaluation(int64_t step, const Evaluation& evaluation) override;
  void on_note(const std::string& note) override;

 private:
  std::string label_;
  bool quiet_;
  bool interactive_;
  bool line_open_ = false;
};

/// "1m05s" style duration.
std::string format_duration(double seconds);

/// "seg: miou 0.412, pixel_acc 0.701 | normals: mean 31.2, ..." in task order.
std::string format_metrics(const std::map<std::string, MetricValues>& metrics);

}  // namespace nddr::cli
