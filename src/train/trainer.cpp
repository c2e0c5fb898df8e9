#include "nddr/train/trainer.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nddr/io/atomic_file.h"
#include "nddr/tasks/losses.h"
#include "nddr/train/checkpoint.h"
#include "nddr/util/error.h"
#include "nddr/weighting/backward.h"

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
  validate(options_.schedule(), options_.steps());
  weighting_ = make_weighting(options_.weighting(), static_cast<int64_t>(net_->tasks().size()));
  if (weighting_->mode() == "representation" && net_->options().fusion.method != "split") {
    throw Error(
        "train.weighting_options.mode 'representation' needs network.fusion 'split' (the "
        "shared trunk's output is the representation); fusion '" +
        net_->options().fusion.method + "' has none: use mode 'parameters'");
  }
  for (const auto& parameter : net_->parameters()) {
    if (parameter.requires_grad()) parameters_.push_back(parameter);
  }
  for (const auto& parameter : weighting_->parameters()) parameters_.push_back(parameter);
  optimizer_ = make_optimizer(*net_, options_.optimizer(), groups_, weighting_->parameters());
}

void Trainer::resume_from(const std::string& checkpoint_path) {
  const CheckpointState state =
      load_checkpoint(checkpoint_path, *net_, *optimizer_, weighting_.get());
  if (state.seed != options_.seed()) {
    throw Error("checkpoint '" + checkpoint_path + "' was trained with seed " +
                std::to_string(state.seed) + ", this run has seed " +
                std::to_string(options_.seed()));
  }
  step_ = state.step;
  if (!options_.run_dir().empty()) truncate_log(options_.run_dir() + "/log.jsonl", step_);
}

StepReport Trainer::train_step(const Batch& batch, int64_t step) {
  seed_step(options_.seed(), step);
  apply_schedule(*optimizer_, groups_, options_.schedule(), step, options_.steps());
  net_->train();
  optimizer_->zero_grad();
  const bool representation = weighting_->mode() == "representation";
  torch::Tensor shared_features;
  const auto outputs = net_->forward(batch.images, representation ? &shared_features : nullptr);
  StepReport report;
  std::vector<torch::Tensor> losses;
  for (const auto& task : net_->tasks()) {
    const torch::Tensor& output = outputs.at(task.name);
    torch::Tensor target = batch.targets.at(task.name);
    if (is_dense(task.kind)) {
      target = resize_target_nearest(target, task.kind, output.size(2), output.size(3));
    }
    const torch::Tensor loss = task_loss(task, output, target);
    report.losses[task.name] = loss.item<double>();
    losses.push_back(task.loss_weight * loss);
  }
  WeightingContext context;
  context.step = step;
  context.seed = options_.seed();
  const torch::Tensor total =
      representation ? representation_backward(*weighting_, losses, shared_features, context)
                     : weighted_backward(*weighting_, losses, parameters_, context);
  for (size_t t = 0; t < weighting_->last_weights().size(); ++t) {
    report.weights[net_->tasks()[t].name] = weighting_->last_weights()[t];
  }
  optimizer_->step();
  report.step = step + 1;
  report.steps = options_.steps();
  report.total_loss = total.item<double>();
  report.lr = group_lr(*optimizer_, 0);
  return report;
}

void Trainer::save(const std::string& path) {
  save_checkpoint(path, *net_, *optimizer_,
                  CheckpointState{step_, options_.seed(), options_.config_yaml()},
                  weighting_.get());
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
  while (step_ < end) {
    const Batch batch = loader.next();
    StepReport report = train_step(batch, step_);
    ++step_;
    images_since_report += batch.images.size(0);

    const bool last = step_ == end;
    if (step_ % options_.log_every() == 0 || last) {
      report.elapsed_seconds = seconds_since(start);
      report.images_per_second = images_since_report / std::max(1e-9, seconds_since(last_report));
      last_report = Clock::now();
      images_since_report = 0;
      observer.on_step(report);
      if (!run_dir.empty()) {
        append_log(log_path, {{"step", report.step},
                              {"loss", report.total_loss},
                              {"task_loss", report.losses},
                              {"task_weight", report.weights},
                              {"lr", report.lr},
                              {"images_per_second", report.images_per_second},
                              {"elapsed_seconds", report.elapsed_seconds}});
      }
    }
    if (test_set && options_.eval_every() > 0 && step_ % options_.eval_every() == 0 && !last) {
      const Evaluation evaluation = evaluate(*net_, test_set, eval_options);
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
