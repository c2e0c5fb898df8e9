#include "nddr/train/trainer.h"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nddr/compat.h"
#include "nddr/io/atomic_file.h"
#include "nddr/tasks/losses.h"
#include "nddr/train/checkpoint.h"
#include "nddr/train/distributed.h"
#include "nddr/train/divergence.h"
#include "nddr/train/stop_signal.h"
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
  out.flush();
  if (!out) throw Error("cannot write training log '" + path + "' (disk full or I/O error)");
}

// "step 7: task 'seg' loss is nan; training stopped ...", naming the
// checkpoint that survives.
std::string divergence_message(const std::string& checkpoint_path, int64_t step,
                               const std::string& problem, int64_t checkpoint_step) {
  std::string text = "training diverged at step " + std::to_string(step) + ": " + problem;
  if (checkpoint_step >= 0) {
    text += "; the last good checkpoint '" + checkpoint_path + "' (step " +
            std::to_string(checkpoint_step) + ") is kept";
  } else {
    text += "; no checkpoint was written before it";
  }
  return text + " (lower train.lr, or see train.nan_policy)";
}

// Every rank stops at the same step boundary: the checkpoint written there is
// a collective operation. One small all-reduce per step.
int agree_on_stop(int signal, Collective& collective) {
  torch::Tensor asked = torch::tensor(
      {int64_t{signal == SIGINT ? 1 : 0}, int64_t{signal != 0 && signal != SIGINT ? 1 : 0}},
      torch::kLong);
  collective.all_reduce_sum(asked, "agreement on a stop signal");
  if (asked[0].item<int64_t>() > 0) return SIGINT;
  if (asked[1].item<int64_t>() > 0) return SIGTERM;
  return 0;
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
  validate(options_.schedule(), options_.steps());
  // Before the optimizer exists, so its state is created on the device.
  place_network(*net_, execution);
  weighting_ = make_weighting(options_.weighting(), static_cast<int64_t>(net_->tasks().size()));
  weighting_->to(execution.device());
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
  if (options_.loss_scaling() || execution.precision() == Precision::kFp16) {
    scaler_.emplace(options_.loss_scaler());
  }
  if (const auto& collective = options_.collective()) {
    loader_options_.shard_index(collective->rank()).shard_count(collective->world_size());
    if (loader_options_.batch_size() % collective->world_size() != 0) {
      throw Error("train.batch_size " + std::to_string(loader_options_.batch_size()) +
                  " (the global batch) does not divide into " +
                  std::to_string(collective->world_size()) + " ranks");
    }
    broadcast_module_state(*net_, *collective, "broadcast of rank 0's initial weights");
    // The weighting's state too (uncertainty's log-variances are parameters
    // averaged with the network's gradients).
    broadcast_module_state(*weighting_, *collective, "broadcast of the weighting's state");
    gradient_sync_ = collective->gradient_sync(parameters_);
  }
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
  skipped_steps_ = state.skipped_steps;
  checkpoint_step_ = state.step;
  if (scaler_ && state.loss_scaler) scaler_->set_state(*state.loss_scaler);
  if (!options_.run_dir().empty() && is_rank0()) {
    truncate_log(options_.run_dir() + "/log.jsonl", step_);
  }
}

StepReport Trainer::train_step(const Batch& host_or_device_batch, int64_t step) {
  seed_step(options_.seed(), step);
  apply_schedule(*optimizer_, groups_, options_.schedule(), step, options_.steps());
  const ExecutionOptions& execution = options_.execution();
  const Batch batch = to_device(host_or_device_batch, execution);
  net_->train();
  optimizer_->zero_grad();
  // A skipped step must leave no trace: the forward pass has already moved
  // BatchNorm's running statistics, possibly to NaN.
  std::vector<torch::Tensor> buffers_before;
  if (options_.skip_non_finite()) {
    for (const auto& buffer : net_->buffers()) buffers_before.push_back(buffer.clone());
  }
  const bool representation = weighting_->mode() == "representation";
  // A gradient method on the parameters averages every gradient itself
  // (weighted_backward), so the buckets stay idle.
  const bool bucketed = gradient_sync_ && !(weighting_->uses_gradients() && !representation);
  if (bucketed) gradient_sync_->begin();
  torch::Tensor shared_features;
  std::map<std::string, torch::Tensor> outputs;
  {
    const PrecisionScope precision(execution);
    outputs = net_->forward(batch.images, representation ? &shared_features : nullptr);
  }
  // Losses in fp32, outside autocast.
  std::vector<LossTerms> terms;
  for (const auto& task : net_->tasks()) {
    const torch::Tensor output = outputs.at(task.name).to(torch::kFloat);
    torch::Tensor target = batch.targets.at(task.name);
    if (is_dense(task.kind)) {
      target = resize_target_nearest(target, task.kind, output.size(2), output.size(3));
    }
    terms.push_back(task_loss_terms(task, output, target));
  }
  RankLosses ranked;
  if (options_.collective()) {
    ranked = normalise_over_ranks(terms, *options_.collective());
  } else {
    for (const auto& term : terms) ranked.backward.push_back(term.sum / term.count.clamp_min(1));
  }
  std::vector<torch::Tensor> losses;  // weighted by loss_weight, with their graph
  for (size_t t = 0; t < terms.size(); ++t) {
    losses.push_back(net_->tasks()[t].loss_weight * ranked.backward[t]);
  }
  WeightingContext context;
  context.step = step;
  context.seed = options_.seed();
  if (scaler_) context.loss_scale = scaler_->scale();
  if (const auto& collective = options_.collective()) {
    context.average = weighting_average(*collective, execution.device());
    context.world_size = collective->world_size();
  }
  const torch::Tensor total =
      representation ? representation_backward(*weighting_, losses, shared_features, context)
                     : weighted_backward(*weighting_, losses, parameters_, context);
  if (bucketed) last_sync_ = gradient_sync_->finish(step);
  StepReport report;
  if (options_.collective()) {
    // The global losses and combined loss (the same on every rank).
    for (size_t t = 0; t < terms.size(); ++t) {
      report.losses[net_->tasks()[t].name] = ranked.values[t];
    }
    report.total_loss = total.item<double>();
  } else {
    // One device-to-host transfer for every loss.
    std::vector<torch::Tensor> detached;
    for (const auto& loss : ranked.backward) detached.push_back(loss.detach());
    detached.push_back(total);
    const torch::Tensor values = torch::stack(detached).to(torch::kCPU, torch::kDouble);
    const auto* value = compat::const_data<double>(values);
    for (size_t t = 0; t < terms.size(); ++t) report.losses[net_->tasks()[t].name] = value[t];
    report.total_loss = value[terms.size()];
  }
  for (size_t t = 0; t < weighting_->last_weights().size(); ++t) {
    report.weights[net_->tasks()[t].name] = weighting_->last_weights()[t];
  }
  // A non-finite loss is divergence whatever the precision; non-finite
  // gradients under fp16 loss scaling are the scaler's business (it skips
  // the step and lowers the scale), otherwise divergence too.
  report.non_finite = non_finite_loss(report.losses);
  if (report.non_finite.empty() && scaler_) {
    report.skipped = !scaler_->step(*optimizer_);
    report.loss_scale = scaler_->scale();
  } else if (report.non_finite.empty()) {
    report.non_finite = non_finite_gradient(*net_);
    if (report.non_finite.empty()) optimizer_->step();
  }
  if (!report.non_finite.empty() && !buffers_before.empty()) {
    torch::NoGradGuard no_grad;
    auto buffers = net_->buffers();
    for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(buffers_before[i]);
  }
  report.step = step + 1;
  report.steps = options_.steps();
  report.lr = group_lr(*optimizer_, 0);
  return report;
}

void Trainer::synchronise_stats() {
  if (!options_.collective() || stats_synchronised_at_ == step_) return;
  synchronise_running_stats(*net_, *options_.collective());
  stats_synchronised_at_ = step_;
}

void Trainer::save(const std::string& path) {
  // An update can overflow weights even from finite gradients: such weights
  // must not replace the last good checkpoint.
  const std::string bad_weight = non_finite_weight(*net_);
  if (!bad_weight.empty()) {
    throw DivergenceError(divergence_message(path, step_, bad_weight, checkpoint_step_));
  }
  synchronise_stats();
  if (!is_rank0()) return;
  CheckpointState state{step_, options_.seed(), options_.config_yaml(), skipped_steps_,
                        std::nullopt};
  if (scaler_) state.loss_scaler = scaler_->state();
  save_checkpoint(path, *net_, *optimizer_, state, weighting_.get());
  checkpoint_step_ = step_;
}

void Trainer::run(TrainObserver& observer, std::shared_ptr<const Dataset> test_set,
                  const EvalLoaderOptions& eval_options) {
  const std::string& run_dir = options_.run_dir();
  if (!run_dir.empty() && is_rank0()) std::filesystem::create_directories(run_dir);
  const int64_t world_size = options_.collective() ? options_.collective()->world_size() : 1;
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
    if (!report.non_finite.empty()) {
      ++skipped_steps_;
      if (!options_.skip_non_finite() || skipped_steps_ > options_.max_skipped_steps()) {
        const std::string problem =
            options_.skip_non_finite() ? report.non_finite + " (" + std::to_string(skipped_steps_) +
                                             " steps skipped, more than train.max_skipped_steps)"
                                       : report.non_finite;
        throw DivergenceError(divergence_message(checkpoint_path, step_ + 1, problem,
                                                 run_dir.empty() ? -1 : checkpoint_step_));
      }
    }
    ++step_;
    images_since_report += batch.images.size(0) * world_size;

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
      if (!run_dir.empty() && is_rank0()) {
        nlohmann::json entry = {{"step", report.step},
                                {"loss", report.total_loss},
                                {"task_loss", report.losses},
                                {"task_weight", report.weights},
                                {"skipped_steps", skipped_steps_},
                                {"lr", report.lr},
                                {"images_per_second", report.images_per_second},
                                {"data_wait_fraction", report.data_wait_fraction},
                                {"elapsed_seconds", report.elapsed_seconds}};
        if (scaler_) entry["loss_scale"] = report.loss_scale;
        append_log(log_path, entry);
      }
    }
    if (test_set && options_.eval_every() > 0 && step_ % options_.eval_every() == 0 && !last) {
      synchronise_stats();
      const Evaluation evaluation = evaluate(*net_, test_set, eval_options, options_.execution(),
                                             options_.collective().get());
      observer.on_evaluation(step_, evaluation);
      if (!run_dir.empty() && is_rank0()) {
        append_log(log_path, {{"step", step_}, {"eval", evaluation.metrics}});
      }
    }
    const bool periodic =
        options_.checkpoint_every() > 0 && step_ % options_.checkpoint_every() == 0;
    int signal = stop_requested();
    if (options_.collective()) signal = agree_on_stop(signal, *options_.collective());
    if (!run_dir.empty() && (periodic || last || signal != 0)) save(checkpoint_path);
    if (signal != 0 && !last) {
      stopped_by_signal_ = signal;
      return;
    }
  }
  // The caller evaluates and saves the weights next: every rank must agree.
  synchronise_stats();
}

}  // namespace nddr
