#pragma once
// The TensorBoard log of a training run: one observer owns the event file, so
// whoever decides which process logs (rank 0 of a distributed run) creates
// it or not in one place.

#include <memory>
#include <string>
#include <vector>

#include "nddr/tensorboard/event_writer.h"
#include "nddr/train/trainer.h"

namespace nddr {

/// Writes to <run_dir>/events.out.tfevents.*:
///  - at each step report: scalars "loss/<task>", "loss/total",
///    "lr/<group role>" (each optimizer group's current rate) and "images_per_second";
///  - at each evaluation: scalars "eval/<task>/<metric>"; images
///    "prediction/<task>/<i>" (colourised dense outputs of the first `images`
///    test images, at their size) and, at the first, "input/<i>"; histograms
///    "nddr/<layer>/<task>/own" and ".../others" (the weights of each NDDR
///    layer's 1x1 conv of that task: its own task's input block and the other
///    tasks' blocks).
/// The network's training flag is restored after the images; they are drawn
/// without randomness, so training is not perturbed.
class TensorBoardObserver : public TrainObserver {
 public:
  TensorBoardObserver(const std::string& run_dir, MultiTaskNet net, Trainer& trainer,
                      std::shared_ptr<const Dataset> test_set,
                      const EvalLoaderOptions& eval_options, int64_t images);

  void on_step(const StepReport& report) override;
  void on_evaluation(int64_t step, const Evaluation& evaluation) override;

  const std::string& path() const { return writer_.path(); }

 private:
  void log_predictions(int64_t step);
  void log_fusion_histograms(int64_t step);

  tensorboard::EventWriter writer_;
  MultiTaskNet net_;
  Trainer& trainer_;
  std::vector<torch::Tensor> images_;      // normalised [3,H,W], fixed test images
  std::vector<torch::Tensor> inputs_rgb_;  // the same as uint8 [H,W,3]
  bool logged_inputs_ = false;
};

/// Passes every report on to each of `observers` in order (null ones skipped).
class ObserverList : public TrainObserver {
 public:
  explicit ObserverList(std::vector<TrainObserver*> observers) : observers_(std::move(observers)) {}
  void on_step(const StepReport& report) override {
    for (auto* observer : observers_) {
      if (observer) observer->on_step(report);
    }
  }
  void on_evaluation(int64_t step, const Evaluation& evaluation) override {
    for (auto* observer : observers_) {
      if (observer) observer->on_evaluation(step, evaluation);
    }
  }
  void on_note(const std::string& note) override {
    for (auto* observer : observers_) {
      if (observer) observer->on_note(note);
    }
  }

 private:
  std::vector<TrainObserver*> observers_;
};

}  // namespace nddr
