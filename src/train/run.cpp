#include "nddr/train/run.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <vector>

#include "nddr/config/network_config.h"
#include "nddr/data/registry.h"
#include "nddr/io/atomic_file.h"
#include "nddr/io/weights.h"
#include "nddr/layers/batch_norm.h"
#include "nddr/models/flops.h"
#include "nddr/models/fold_batchnorm.h"
#include "nddr/train/batch_memory.h"
#include "nddr/train/checkpoint.h"
#include "nddr/train/resume_check.h"
#include "nddr/train/run_dir.h"
#include "nddr/train/tensorboard_observer.h"
#include "nddr/util/error.h"
#include "nddr/util/run_lock.h"
#include "nddr/util/strings.h"
#include "nddr/util/threads.h"

namespace nddr {

namespace {

NormalizeOptions normalize_options(const Config& config) {
  NormalizeOptions options;
  options.mode(config.get_string("data.normalize"))
      .mean(config.get_double_list("data.mean"))
      .stddev(config.get_double_list("data.std"));
  validate(options);
  return options;
}

// Loads a torchvision-named backbone file into every column of the network.
void load_backbone(MultiTaskNetImpl& net, const std::string& path) {
  const LoadOptions base = LoadOptions().strict(false).skip({"classifier.", "fc."});
  std::vector<std::string> prefixes;
  for (const auto& item : net.named_children()) {
    if (item.key() == "shared") prefixes.push_back("shared.");
    if (item.key() == "columns") {
      for (const auto& column : item.value()->named_children()) {
        prefixes.push_back("columns." + column.key() + ".");
      }
    }
  }
  for (const auto& prefix : prefixes) load_weights(net, path, LoadOptions(base).add_prefix(prefix));
}

int64_t parameter_total(const MultiTaskNetImpl& net) {
  int64_t total = 0;
  for (const auto& item : net.parameter_counts()) total += item.second;
  return total;
}

RunResults results_of(const Config& config, const Evaluation& evaluation) {
  RunResults results;
  results.method = config.get_string("network.fusion");
  results.config = config.to_yaml();
  results.tasks = evaluation.metrics;
  results.higher_is_better = evaluation.higher_is_better;
  results.info["eval_images"] = std::to_string(evaluation.images);
  results.info["eval_seconds"] = std::to_string(evaluation.seconds);
  if (evaluation.non_finite_images > 0) {
    results.info[kInvalidInfoKey] = "non-finite outputs on " +
                                    std::to_string(evaluation.non_finite_images) + " of " +
                                    std::to_string(evaluation.images) + " test images";
  }
  return results;
}

ScheduleOptions schedule_options(const Config& config) {
  return ScheduleOptions()
      .name(config.get_string("train.schedule"))
      .power(config.get_double("train.poly_power"))
      .step_size(config.get_int("train.step_size"))
      .gamma(config.get_double("train.gamma"))
      .warmup_steps(config.get_int("train.warmup_steps"));
}

WeightingSpec weighting_spec(const Config& config) {
  WeightingSpec spec;
  spec.method = config.get_string("train.weighting");
  for (const auto& option : config.get_string_map("train.weighting_options")) {
    spec.options[option.first] = option.second;
  }
  return spec;
}

}  // namespace

RunPaths run_paths(const Config& config) {
  return RunPaths{config.get_string("output_dir") + "/" + config.get_string("name")};
}

std::shared_ptr<Dataset> dataset_from_config(const Config& config, const std::string& split) {
  DatasetSpec spec;
  spec.name = config.get_string("data." + split + ".dataset");
  spec.tasks = tasks_from_config(config);
  for (const auto& option : config.get_string_map("data." + split + ".options")) {
    spec.options[option.first] = option.second;
  }
  try {
    return make_dataset(spec);
  } catch (const Error& e) {
    throw Error("data." + split + ": " + e.what());
  }
}

namespace {

// "data.workers: 0" is auto, like "threads: 0" (the loaders' own 0, loading
// in the calling thread, is for the library's callers).
int64_t loader_workers(const Config& config) {
  const int64_t workers = config.get_int("data.workers");
  return workers > 0 ? workers : default_workers();
}

// The batches must fit in the machine's memory (CPU runs; a GPU's allocator
// reports its own out-of-memory error). A training image is the crop, or the
// first training image at the largest scale: its forward activations are
// what autograd keeps. An evaluation image is the first test image as it is:
// its inference pass's peak memory.
void check_train_batch_fits(const Config& config, MultiTaskNetImpl& net, const Dataset& train_set) {
  if (!execution_options(config).device().is_cpu() || train_set.size() == 0) return;
  // A copy: sizes() views the sample, which is a temporary.
  const std::vector<int64_t> shape = train_set.get(0).image.sizes().vec();
  const double scale = config.get_double("data.scale_max");
  const auto side = [&](const char* crop_key, int64_t size) {
    const int64_t crop = config.get_int(crop_key);
    return crop > 0 ? crop : static_cast<int64_t>(std::ceil(static_cast<double>(size) * scale));
  };
  const int64_t per_image = activation_bytes_per_image(
      net, shape[0], side("data.crop_height", shape[1]), side("data.crop_width", shape[2]));
  check_batch_memory(config.get_int("train.batch_size"), per_image, usable_memory_bytes(),
                     "train.batch_size");
}

void check_eval_batch_fits(const Config& config, MultiTaskNetImpl& net, const Dataset& test_set) {
  if (!execution_options(config).device().is_cpu() || test_set.size() == 0) return;
  const std::vector<int64_t> shape = test_set.get(0).image.sizes().vec();
  check_batch_memory(config.get_int("eval.batch_size"),
                     inference_bytes_per_image(net, shape[0], shape[1], shape[2]),
                     usable_memory_bytes(), "eval.batch_size");
}

}  // namespace

TrainLoaderOptions train_loader_options(const Config& config) {
  AugmentOptions augment;
  augment.scale_min(config.get_double("data.scale_min"))
      .scale_max(config.get_double("data.scale_max"))
      .flip(config.get_bool("data.flip"))
      .crop_height(config.get_int("data.crop_height"))
      .crop_width(config.get_int("data.crop_width"));
  validate(augment);
  return TrainLoaderOptions()
      .batch_size(config.get_int("train.batch_size"))
      .seed(static_cast<uint64_t>(config.get_int("seed")))
      .workers(loader_workers(config))
      .prefetch(config.get_int("data.prefetch"))
      .augment(augment)
      .normalize(normalize_options(config));
}

EvalLoaderOptions eval_loader_options(const Config& config) {
  return EvalLoaderOptions()
      .batch_size(config.get_int("eval.batch_size"))
      .workers(loader_workers(config))
      .prefetch(config.get_int("data.prefetch"))
      .normalize(normalize_options(config));
}

ExecutionOptions execution_options(const Config& config) {
  const torch::Device device = resolve_device(config.get_string("device"), "device");
  const Precision precision = parse_precision(config.get_string("precision"), "precision");
  check_precision(precision, device, "precision");
  const std::string channels_last = config.get_string("channels_last");
  if (channels_last != "auto" && channels_last != "true" && channels_last != "false") {
    throw Error("channels_last: expected auto, true or false, got '" + channels_last + "'");
  }
  // auto: on only where measured faster (docs/performance.md): bf16 on the
  // CPU, where oneDNN's bf16 convolutions want NHWC; not yet measured on GPUs.
  const bool nhwc = channels_last == "auto" ? precision == Precision::kBf16 && device.is_cpu()
                                            : channels_last == "true";
  return ExecutionOptions()
      .device(device)
      .precision(precision)
      .channels_last(nhwc)
      .cudnn_benchmark(config.get_bool("cudnn.benchmark"))
      .deterministic(config.get_bool("cudnn.deterministic"));
}

TrainOptions train_options(const Config& config) {
  const auto betas = config.get_double_list("train.betas");
  if (betas.size() != 2) {
    throw Error("train.betas must hold two numbers, got " + std::to_string(betas.size()));
  }
  return TrainOptions()
      .execution(execution_options(config))
      .steps(config.get_int("train.steps"))
      .seed(config.get_int("seed"))
      .schedule(schedule_options(config))
      .weighting(weighting_spec(config))
      .log_every(std::max<int64_t>(1, config.get_int("train.log_every")))
      .eval_every(config.get_int("train.eval_every"))
      .checkpoint_every(config.get_int("train.checkpoint_every"))
      .run_dir(run_paths(config).dir)
      .config_yaml(config.to_yaml())
      .skip_non_finite(config.get_string("train.nan_policy") == "skip")
      .max_skipped_steps(config.get_int("train.max_skipped_steps"))
      .optimizer(
          OptimizerOptions()
              .name(config.get_string("train.optimizer"))
              .beta1(betas.at(0))
              .beta2(betas.at(1))
              .eps(config.get_double("train.eps"))
              .lr(config.get_double("train.lr"))
              .momentum(config.get_double("train.momentum"))
              .weight_decay(config.get_double("train.weight_decay"))
              .lr_mult_fusion(config.get_double("train.lr_mult_fusion"))
              .lr_mult_last_weight(config.get_double("train.lr_mult_last_weight"))
              .lr_mult_last_bias(config.get_double("train.lr_mult_last_bias"))
              .fusion_weight_decay_mult(config.get_double("train.fusion_weight_decay_mult")));
}

MultiTaskNet network_from_config(const Config& config) {
  torch::manual_seed(static_cast<uint64_t>(config.get_int("seed")));
  MultiTaskNet net(network_options_from_config(config));
  const std::string backbone = config.get_string("train.init_backbone");
  if (!backbone.empty()) load_backbone(*net, backbone);
  // Single-task runs' files lack the fusion layers (and the other tasks'
  // columns), which keep their fresh init: the paper's recipe.
  for (const auto& path : config.get_string_list("train.init_from")) {
    load_weights(*net, path, LoadOptions().strict(false));
  }
  return net;
}

namespace {

// Distributed resume: every rank must read the checkpoint that rank 0 sees.
bool agree_on_resume(bool found, const std::string& path, Collective& collective) {
  torch::Tensor flag = torch::tensor({found ? 1 : 0}, torch::kLong);
  collective.broadcast(flag, 0, "resume decision");
  const bool rank0_found = flag.item<int64_t>() == 1;
  if (rank0_found && !found) {
    throw Error("rank " + std::to_string(collective.rank()) + " cannot find the checkpoint '" +
                path +
                "' that rank 0 resumes from: the run directory must be on a file system "
                "every rank shares");
  }
  return rank0_found;
}

// Rank 0's claim on the run directory: its lock held in `lock`, temporaries
// of interrupted writes removed, and no earlier run in it unless resumed or
// overwritten.
void claim_run_directory(const RunPaths& paths, const RunOptions& options, TrainObserver& observer,
                         std::optional<RunLock>& lock) {
  std::filesystem::create_directories(paths.dir);
  lock.emplace(paths.dir);
  for (const auto& stale : remove_stale_temporaries(paths.dir)) {
    observer.on_note("removed '" + stale + "', left by an interrupted write");
  }
  const auto existing = existing_run_files(paths);
  if (!existing.empty() && !options.resume && !options.overwrite) {
    throw Error("run directory '" + paths.dir + "' already holds a run (" + join(existing, ", ") +
                "): continue it with --resume, replace it with --overwrite, or choose another "
                "name");
  }
}

// The network's size in results.info: parameters and the forward MACs at the
// test set's first image size (the network is left in eval mode).
void add_size_info(RunResults& results, MultiTaskNetImpl& net, const Dataset& test_set,
                   const torch::Device& device) {
  const auto sample = test_set.get(0).image.to(device);
  torch::NoGradGuard no_grad;
  net.eval();
  const auto flops = count_forward_flops([&] { net.forward(sample.unsqueeze(0)); });
  results.info["parameters"] = std::to_string(parameter_total(net));
  results.info["macs"] = std::to_string(flops.macs);
  results.info["input_size"] =
      std::to_string(sample.size(1)) + "x" + std::to_string(sample.size(2));
}

}  // namespace

RunResults train_from_config(const Config& config, TrainObserver& observer,
                             const RunOptions& options) {
  const RunPaths paths = run_paths(config);
  if (options.resume && options.overwrite)
    throw Error("--resume and --overwrite exclude each other");
  Collective* collective = options.collective.get();
  // Rank 0 owns the run directory: the lock, the clean-up and every file.
  const bool rank0 = collective == nullptr || collective->rank() == 0;
  std::optional<RunLock> lock;
  if (rank0) claim_run_directory(paths, options, observer, lock);
  const std::string config_yaml = config.to_yaml();

  MultiTaskNet net = network_from_config(config);
  if (collective != nullptr && config.get_bool("network.sync_bn")) {
    set_sync_batch_norm(*net, options.collective);
  }
  auto train_set = dataset_from_config(config, "train");
  auto test_set = dataset_from_config(config, "test");
  Trainer trainer(
      net, train_set, train_loader_options(config),
      train_options(config).stop_after(options.stop_after).collective(options.collective));
  check_train_batch_fits(config, *net, *train_set);
  check_eval_batch_fits(config, *net, *test_set);
  bool resuming = options.resume && std::filesystem::exists(paths.checkpoint());
  if (collective != nullptr && options.resume) {
    resuming = agree_on_resume(resuming, paths.checkpoint(), *collective);
  }
  if (resuming) {
    const CheckpointState state = read_checkpoint_state(paths.checkpoint());
    for (const auto& change : check_resume(paths.checkpoint(), state.config_yaml, config)) {
      if (rank0) observer.on_note("resume: " + change.describe());
    }
    trainer.resume_from(paths.checkpoint());
  } else if (rank0) {
    // A fresh start: nothing of an earlier run (--overwrite, or a --resume
    // that found no checkpoint) may mix into this one.
    remove_run_files(paths);
  }
  if (rank0) write_file_atomically(paths.config(), [&](std::ostream& out) { out << config_yaml; });
  // The one place that decides whether this process writes the TensorBoard log.
  std::unique_ptr<TensorBoardObserver> tensorboard;
  if (rank0 && config.get_bool("log.tensorboard")) {
    tensorboard = std::make_unique<TensorBoardObserver>(paths.dir, net, trainer, test_set,
                                                        eval_loader_options(config),
                                                        config.get_int("log.tensorboard_images"));
  }
  ObserverList observers({&observer, tensorboard.get()});
  const auto start = std::chrono::steady_clock::now();
  trainer.run(observers, test_set, eval_loader_options(config));
  const double train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (trainer.step() < config.get_int("train.steps")) {
    RunResults partial;
    partial.method = config.get_string("network.fusion");
    partial.info["stopped_at_step"] = std::to_string(trainer.step());
    if (trainer.stopped_by_signal() != 0) {
      partial.info["stopped_by_signal"] = std::to_string(trainer.stopped_by_signal());
    }
    return partial;
  }
  if (rank0) save_weights(paths.weights(), *net, {{"config", config_yaml}});

  const ExecutionOptions execution = execution_options(config);
  // Folded as `nddr eval` runs it, so results.json and `nddr eval` agree exactly.
  MultiTaskNet folded = batchnorm_folded(*net);
  const Evaluation evaluation =
      evaluate(*folded, test_set, eval_loader_options(config), execution, collective);
  if (tensorboard) tensorboard->on_evaluation(trainer.step(), evaluation);
  RunResults results = results_of(config, evaluation);
  add_size_info(results, *net, *test_set, execution.device());
  results.info["train_seconds"] = std::to_string(train_seconds);
  results.info["steps"] = std::to_string(trainer.step());
  if (collective != nullptr) results.info["world_size"] = std::to_string(collective->world_size());
  if (rank0) save_results(paths.results(), results);
  // No rank reports success before rank 0's files are complete.
  if (collective != nullptr) collective->barrier("final barrier after rank 0 wrote the results");
  return results;
}

RunResults evaluate_from_config(const Config& config, const std::string& weights) {
  const ExecutionOptions execution = execution_options(config);
  MultiTaskNet net(network_options_from_config(config));
  load_weights(*net, weights);
  fold_batchnorm(*net);  // inference only: same outputs, fewer ops
  place_network(*net, execution);
  configure_backends(execution);
  const auto test_set = dataset_from_config(config, "test");
  check_eval_batch_fits(config, *net, *test_set);
  RunResults results =
      results_of(config, evaluate(*net, test_set, eval_loader_options(config), execution));
  results.info["weights"] = weights;
  return results;
}

}  // namespace nddr
