#include "nddr/train/trainer.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nddr/compat.h"
#include "nddr/io/atomic_file.h"
#include "nddr/tasks/losses.h"
#include "nddr/train/checkpoint.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Keeps the log lines of steps up to `last_step`: lines a crashed run wrote
// after its last checkpoint are replayed by the resumed run.
void truncate_log(const std::string& path, int64_t last_step) {
  std::ifstream in(path);
  if (!in) return;
  std::vector<std::string> kept;
  for (std::string line; std::getline(in, line);) {
    const auto entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!entry.is_discarded() && entry.value("step", int64_t{0}) <= last_step) kept.push_back(line);
  }
  write_file_atomically(path, [&](std::ostream& out) {
    for (const auto& line : kept) out << line << "\n";
  });
}

void append_log(const std::string& path, const nlohmann::json& entry) {
  std::ofstream out(path, std::ios::app);
  if (!out) throw Error("cannot write training log '" + path + "'");
  out << entry.dump() << "\n";
}

}  // namespace

void seed_step(int64_t seed, int64_t step) {
  // A large odd multiplier spreads consecutive steps over the seed space.
  torch::manual_seed(static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL +
                     static_cast<uint64_t>(step));
}

Trainer::Trainer(MultiTaskNet net, std::shared_ptr<const Dataset> train_set,
                 TrainLoaderOptions loader_options, TrainOptions options)
    : net_(std::move(net)),
      train_set_(std::move(train_set)),
      loader_options_(std::move(loader_options)),
      options_(std::move(options)) {
  if (options_.steps() < 1) throw Error("train.steps must be >= 1");
  loader_options_.tasks(net_->tasks()).seed(static_cast<uint64_t>(options_.seed()));
  const ExecutionOptions& execution = options_.execution();
  check_precision(execution.precision(), execution.device());
  configure_backends(execution);
  loader_options_.pin_memory(execution.device().is_cuda());
  // Before the optimizer exists, so its state is created on the device.
  place_network(*net_, execution);
  optimizer_ = make_sgd(*net_, options_.optimizer(), groups_);
  if (options_.loss_scaling() || execution.precision() == Precision::kFp16) {
    scaler_.emplace(options_.loss_scaler());
  }
}

void Trainer::resume_from(const std::string& checkpoint_path) {
  const CheckpointState state = load_checkpoint(checkpoint_path, *net_, *optimizer_);
  if (state.seed != options_.seed()) {
    throw Error("checkpoint '" + checkpoint_path + "' was trained with seed " +
                std::to_string(state.seed) + ", this run has seed " +
                std::to_string(options_.seed()));
  }
  step_ = state.step;
  if (scaler_ && state.loss_scaler) scaler_->set_state(*state.loss_scaler);
  if (!options_.run_dir().empty()) truncate_log(options_.run_dir() + "/log.jsonl", step_);
}

StepReport Trainer::train_step(const Batch& host_or_device_batch, int64_t step) {
  seed_step(options_.seed(), step);
  apply_poly_schedule(*optimizer_, groups_, step, options_.steps(), options_.poly_power());
  const ExecutionOptions& execution = options_.execution();
  const Batch batch = to_device(host_or_device_batch, execution);
  net_->train();
  optimizer_->zero_grad();
  std::map<std::string, torch::Tensor> outputs;
  {
    const PrecisionScope precision(execution);
    outputs = net_->forward(batch.images);
  }
  // Losses in fp32, outside autocast.
  torch::Tensor total = torch::zeros({}, batch.images.options().dtype(torch::kFloat));
  std::vector<torch::Tensor> task_losses;
  for (const auto& task : net_->tasks()) {
    const torch::Tensor output = outputs.at(task.name).to(torch::kFloat);
    torch::Tensor target = batch.targets.at(task.name);
    if (is_dense(task.kind)) {
      target = resize_target_nearest(target, task.kind, output.size(2), output.size(3));
    }
    const torch::Tensor loss = task_loss(task, output, target);
    task_losses.push_back(loss.detach());
    total = total + task.loss_weight * loss;
  }
  StepReport report;
  if (scaler_) {
    scaler_->scale_loss(total).backward();
    report.skipped = !scaler_->step(*optimizer_);
    report.loss_scale = scaler_->scale();
  } else {
    total.backward();
    optimizer_->step();
  }
  // One device-to-host transfer for every loss, after the step is queued.
  task_losses.push_back(total.detach());
  const torch::Tensor values = torch::stack(task_losses).to(torch::kCPU, torch::kDouble);
  const auto* value = compat::const_data<double>(values);
  for (size_t i = 0; i < net_->tasks().size(); ++i) report.losses[net_->tasks()[i].name] = value[i];
  report.total_loss = value[net_->tasks().size()];
  report.step = step + 1;
  report.steps = options_.steps();
  report.lr = group_lr(*optimizer_, 0);
  return report;
}

void Trainer::save(const std::string& path) {
  CheckpointState state{step_, options_.seed(), options_.config_yaml(), std::nullopt};
  if (scaler_) state.loss_scaler = scaler_->state();
  save_checkpoint(path, *net_, *optimizer_, state);
}

void Trainer::run(TrainObserver& observer, std::shared_ptr<const Dataset> test_set,
                  const EvalLoaderOptions& eval_options) {
  const std::string& run_dir = options_.run_dir();
  if (!run_dir.empty()) std::filesystem::create_directories(run_dir);
  const std::string checkpoint_path = run_dir + "/checkpoint.pt";
  const std::string log_path = run_dir + "/log.jsonl";
  const int64_t end = options_.stop_after() > 0 ? std::min(options_.stop_after(), options_.steps())
                                                : options_.steps();

  TrainLoader loader(train_set_, TrainLoaderOptions(loader_options_).start_step(step_));
  const auto start = Clock::now();
  auto last_report = start;
  int64_t images_since_report = 0;
  double wait_since_report = 0.0;
  // Waiting for the loader is what the data-wait fraction counts.
  auto next_host_batch = [&] {
    const auto asked = Clock::now();
    Batch batch = loader.next();
    wait_since_report += seconds_since(asked);
    return batch;
  };
  DeviceFeed feed(options_.execution());
  if (step_ < end) feed.put(next_host_batch());
  while (step_ < end) {
    const Batch batch = feed.take();
    // The next batch's copy overlaps this step on CUDA.
    if (step_ + 1 < end) feed.put(next_host_batch());
    StepReport report = train_step(batch, step_);
    ++step_;
    images_since_report += batch.images.size(0);

    const bool last = step_ == end;
    if (step_ % options_.log_every() == 0 || last) {
      report.elapsed_seconds = seconds_since(start);
      const double interval = std::max(1e-9, seconds_since(last_report));
      report.images_per_second = images_since_report / interval;
      report.data_wait_fraction = std::min(1.0, wait_since_report / interval);
      last_report = Clock::now();
      images_since_report = 0;
      wait_since_report = 0.0;
      observer.on_step(report);
      if (!run_dir.empty()) {
        nlohmann::json entry = {{"step", report.step},
                                {"loss", report.total_loss},
                                {"task_loss", report.losses},
                                {"lr", report.lr},
                                {"images_per_second", report.images_per_second},
                                {"data_wait_fraction", report.data_wait_fraction},
                                {"elapsed_seconds", report.elapsed_seconds}};
        if (scaler_) entry["loss_scale"] = report.loss_scale;
        append_log(log_path, entry);
      }
    }
    if (test_set && options_.eval_every() > 0 && step_ % options_.eval_every() == 0 && !last) {
      const Evaluation evaluation = evaluate(*net_, test_set, eval_options, options_.execution());
      observer.on_evaluation(step_, evaluation);
      if (!run_dir.empty()) {
        append_log(log_path, {{"step", step_}, {"eval", evaluation.metrics}});
      }
    }
    const bool periodic =
        options_.checkpoint_every() > 0 && step_ % options_.checkpoint_every() == 0;
    if (!run_dir.empty() && (periodic || last)) save(checkpoint_path);
  }
}

}  // namespace nddr
