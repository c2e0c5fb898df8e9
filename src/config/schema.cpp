#include <algorithm>

#include "nddr/config/config.h"
#include "nddr/models/multitask_net.h"
#include "nddr/util/strings.h"
#include "nddr/util/threads.h"

namespace nddr {

namespace {

// Bounds that keep a config from asking for absurd sizes: a batch far beyond
// any memory (8192 images of 512x512 RGB are 25 GB of floats before the first
// layer) and crops far beyond any camera.
constexpr double kMaxBatch = 8192;
constexpr double kMaxImageSide = 16384;

// A run's name and output directory become paths: "" or "." would write the
// run's files into an existing directory, ".." above it.
std::string non_empty_path_name(const YAML::Node& value) {
  const std::string text = value.IsNull() ? "" : value.as<std::string>();
  if (text.empty() || text == "." || text == "..") return "a non-empty name other than '.' or '..'";
  return "";
}

std::string nan_policy_name(const YAML::Node& value) {
  const std::string text = value.IsNull() ? "" : value.as<std::string>();
  return text == "stop" || text == "skip" ? "" : "stop or skip";
}

// Checked when the config is read, so a typo fails before any data is loaded.
std::string fusion_method_name(const YAML::Node& value) {
  const std::string text = value.IsNull() ? "" : value.as<std::string>();
  const auto names = fusion_methods();
  if (std::find(names.begin(), names.end(), text) != names.end()) return "";
  return "one of " + join(names, ", ") + did_you_mean(text, names);
}

// The run: names, seed, threads, device and precision.
std::vector<KeySpec> run_keys() {
  using T = ValueType;
  return {
      {"name", T::kString, "nddr", "run name; the run directory is <output_dir>/<name>", Range{},
       non_empty_path_name},
      {"output_dir", T::kString, "runs", "where run directories are created", Range{},
       non_empty_path_name},
      {"seed", T::kInt, "0", "seed of weights init, data order, augmentation and dropout",
       between(-9.2e18, 9.2e18)},
      {"threads", T::kInt, "0", "LibTorch intra-op threads (0 = $NDDR_THREADS or all cores)",
       between(0, static_cast<double>(max_thread_count()))},
      {"device", T::kString, "auto",
       "where networks run: auto (cuda:0 when CUDA is available, else cpu), cpu, cuda, cuda:N"},
      {"precision", T::kString, "fp32",
       "fp32, bf16 (autocast, CUDA and CPU) or fp16 (autocast + dynamic loss scaling, CUDA); "
       "weights, BN statistics, losses and metrics stay fp32"},
      {"channels_last", T::kString, "auto",
       "NHWC weights and images: true, false, or auto = where measured faster (bf16 on the "
       "CPU; docs/performance.md)"},
      {"cudnn.benchmark", T::kBool, "true", "CUDA: let cuDNN time and pick convolution algorithms"},
      {"cudnn.deterministic", T::kBool, "false",
       "CUDA: deterministic cuDNN algorithms only (turns cudnn.benchmark off)"},
  };
}

// The network and its tasks.
std::vector<KeySpec> network_keys() {
  using T = ValueType;
  return {
      {"network.backbone", T::kString, "vgg16_largefov",
       "vgg16_largefov, resnet18, resnet34, resnet50, resnet101"},
      {"network.width", T::kDouble, "1.0", "channel multiplier of the backbone",
       between(1.0 / 64, 8)},
      {"network.output_stride", T::kInt, "8",
       "ResNet: 8 or 16; VGG LargeFOV: 8 (the paper), 4 or 2 (small images)", between(1, 64)},
      {"network.fusion", T::kString, "nddr", join(fusion_methods(), ", "), {}, fusion_method_name},
      {"network.positions", T::kIntList, "[]",
       "stages (0-based) followed by a fusion layer; [] = every stage", between(0, 64)},
      {"network.split_stage", T::kInt, "0", "split: number of shared stages", between(0, 64)},
      {"network.init", T::kString, "diagonal", "fusion weight init: diagonal, xavier, msra"},
      {"network.alpha", T::kDouble, "0.9", "diagonal init: own-task weight", between(-100, 100)},
      {"network.beta", T::kDouble, "0.1", "diagonal init: other-task weight", between(-100, 100)},
      {"network.batch_norm", T::kBool, "true", "nddr: BatchNorm after the 1x1 conv"},
      {"network.relu", T::kBool, "true", "nddr: ReLU after BatchNorm"},
      {"network.per_channel", T::kBool, "true", "cross_stitch/sluice: weights per channel"},
      {"network.head_hidden", T::kInt, "1024", "fc6/fc7 width of dense heads", between(1, 65536)},
      {"network.head_dilation", T::kInt, "12", "fc6 dilation of dense heads", between(1, 1024)},
      {"network.head_dropout", T::kDouble, "0.5", "dropout after fc6 and fc7", from_below(0, 1)},
      {"network.sync_bn", T::kBool, "false",
       "distributed: BatchNorm statistics over the global batch (SyncBatchNorm)"},

      {"tasks", T::kTaskList,
       "[{name: seg, kind: segmentation, channels: 40, loss_weight: 1},"
       " {name: normals, kind: normals, channels: 3, loss_weight: 20}]",
       "list of {name, kind, channels, loss_weight}"},
  };
}

// Datasets, augmentation and loading.
std::vector<KeySpec> data_keys() {
  using T = ValueType;
  return {
      {"data.train.dataset", T::kString, "synthetic_scenes", "training dataset (registry name)"},
      {"data.train.options", T::kStringMap, "{}", "training dataset options"},
      {"data.test.dataset", T::kString, "synthetic_scenes", "evaluation dataset (registry name)"},
      {"data.test.options", T::kStringMap, "{}", "evaluation dataset options"},
      {"data.scale_min", T::kDouble, "1.0", "random scale lower bound (training)",
       between(0.01, 16)},
      {"data.scale_max", T::kDouble, "1.0", "random scale upper bound, exclusive",
       between(0.01, 16)},
      {"data.flip", T::kBool, "false", "random horizontal flip (negates normals' x)"},
      {"data.crop_height", T::kInt, "0", "random crop height (0 = no crop)",
       between(0, kMaxImageSide)},
      {"data.crop_width", T::kInt, "0", "random crop width (0 = no crop)",
       between(0, kMaxImageSide)},
      {"data.normalize", T::kString, "mean_std", "none, mean_std, bgr_mean (the reference's)"},
      {"data.mean", T::kDoubleList, "[0.485, 0.456, 0.406]", "mean_std: RGB mean on [0,1]",
       between(-1e3, 1e3)},
      {"data.std", T::kDoubleList, "[0.229, 0.224, 0.225]", "mean_std: RGB std on [0,1]",
       above(0, 1e3)},
      {"data.workers", T::kInt, "2",
       "loader worker threads (0 = auto: half of $NDDR_THREADS or the cores, 1 to 8)",
       between(0, static_cast<double>(max_thread_count()))},
      {"data.prefetch", T::kInt, "4", "batches prepared ahead", between(1, 1024)},
  };
}

// Optimisation, weighting and the run's schedule of logs and checkpoints.
std::vector<KeySpec> train_keys() {
  using T = ValueType;
  return {
      {"train.steps", T::kInt, "1000", "optimizer steps", between(1, 1e9)},
      {"train.batch_size", T::kInt, "8", "images per step", between(1, kMaxBatch)},
      {"train.lr", T::kDouble, "0.001", "base learning rate", between(0, 1e6)},
      {"train.momentum", T::kDouble, "0.9", "SGD momentum", from_below(0, 1)},
      {"train.weight_decay", T::kDouble, "0.0005", "L2 weight decay of conv/linear weights",
       between(0, 1)},
      {"train.poly_power", T::kDouble, "0.9", "poly: lr = base * (1 - t)^power per group",
       between(0, 100)},
      {"train.optimizer", T::kString, "sgd", "sgd, adam (L2 decay) or adamw (decoupled decay)"},
      {"train.betas", T::kDoubleList, "[0.9, 0.999]", "adam/adamw: moment decay rates",
       from_below(0, 1)},
      {"train.eps", T::kDouble, "1e-8", "adam/adamw: denominator epsilon", above(0, 1)},
      {"train.schedule", T::kString, "poly",
       "lr factor per group: poly, cosine, step or constant (docs/training.md)"},
      {"train.step_size", T::kInt, "0", "step: steps between decays by train.gamma",
       between(0, 1e9)},
      {"train.gamma", T::kDouble, "0.1", "step: factor of each decay", between(0, 1)},
      {"train.warmup_steps", T::kInt, "0", "linear warm-up steps before the schedule (0 = none)",
       between(0, 1e9)},
      {"train.weighting", T::kString, "fixed",
       "task weighting: fixed, uncertainty, dwa, rlw, gls, famo, gradnorm, mgda, pcgrad, cagrad, "
       "imtl, nash_mtl, aligned_mtl (docs/weighting.md)"},
      {"train.weighting_options", T::kStringMap, "{}",
       "options of train.weighting, e.g. {temperature: 2} for dwa"},
      {"train.lr_mult_fusion", T::kDouble, "100", "LR multiplier of fusion (NDDR etc.) params",
       between(0, 1e6)},
      {"train.lr_mult_last_weight", T::kDouble, "10", "LR multiplier of the heads' fc8 weights",
       between(0, 1e6)},
      {"train.lr_mult_last_bias", T::kDouble, "20", "LR multiplier of the heads' fc8 biases",
       between(0, 1e6)},
      {"train.fusion_weight_decay_mult", T::kDouble, "1.0",
       "weight-decay multiplier of fusion weights", between(0, 1e6)},
      {"train.init_from", T::kStringList, "[]",
       "safetensors files whose tensors are loaded by name before training (e.g. single-task "
       "runs' weights); fusion layers absent from them start fresh"},
      {"train.init_backbone", T::kString, "\"\"",
       "torchvision-named backbone safetensors loaded into every column"},
      {"train.log_every", T::kInt, "10", "steps between JSONL log lines", between(0, 1e9)},
      {"train.eval_every", T::kInt, "0", "steps between evaluations (0 = only at the end)",
       between(0, 1e9)},
      {"train.checkpoint_every", T::kInt, "500", "steps between checkpoints (0 = only at the end)",
       between(0, 1e9)},

      {"train.nan_policy", T::kString, "stop",
       "a non-finite loss or gradient: stop (exit 2, last checkpoint kept) or skip the step",
       Range{}, nan_policy_name},
      {"train.max_skipped_steps", T::kInt, "10",
       "skip: the most steps skipped in a run before it stops as diverged", between(0, 1e9)},
  };
}

// Evaluation, logging and distributed training.
std::vector<KeySpec> output_keys() {
  using T = ValueType;
  return {
      {"eval.batch_size", T::kInt, "16", "evaluation batch size (1 for images of varying size)",
       between(1, kMaxBatch)},

      {"log.tensorboard", T::kBool, "true",
       "write TensorBoard event files (events.out.tfevents.*) in the run directory"},
      {"log.tensorboard_images", T::kInt, "3",
       "test images whose colourised predictions are logged at each evaluation", between(0, 64)},

      {"dist.backend", T::kString, "auto",
       "distributed: auto (NCCL on CUDA, else Gloo), gloo, nccl"},
      {"dist.timeout", T::kDouble, "600",
       "distributed: seconds any rank waits for the others (rendezvous, each collective)",
       above(0, 1e6)},
      {"dist.bucket_mb", T::kDouble, "25", "distributed: gradient all-reduce bucket size (MiB)",
       above(0, 1e4)},
  };
}

}  // namespace

const std::vector<KeySpec>& config_schema() {
  static const std::vector<KeySpec> schema = [] {
    std::vector<KeySpec> all;
    for (auto part : {run_keys, network_keys, data_keys, train_keys, output_keys}) {
      for (auto& key : part()) all.push_back(std::move(key));
    }
    return all;
  }();
  return schema;
}

}  // namespace nddr
