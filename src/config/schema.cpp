#include "nddr/config/config.h"

namespace nddr {

const std::vector<KeySpec>& config_schema() {
  using T = ValueType;
  static const std::vector<KeySpec> schema = {
      {"name", T::kString, "nddr", "run name; the run directory is <output_dir>/<name>"},
      {"output_dir", T::kString, "runs", "where run directories are created"},
      {"seed", T::kInt, "0", "seed of weights init, data order, augmentation and dropout"},
      {"threads", T::kInt, "0", "LibTorch intra-op threads (0 = $NDDR_THREADS or all cores)"},
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

      {"network.backbone", T::kString, "vgg16_largefov",
       "vgg16_largefov, resnet18, resnet34, resnet50, resnet101"},
      {"network.width", T::kDouble, "1.0", "channel multiplier of the backbone"},
      {"network.output_stride", T::kInt, "8",
       "ResNet: 8 or 16; VGG LargeFOV: 8 (the paper), 4 or 2 (small images)"},
      {"network.fusion", T::kString, "nddr",
       "single, split, cross_stitch, nddr, nddr_shortcut, sluice"},
      {"network.positions", T::kIntList, "[]",
       "stages (0-based) followed by a fusion layer; [] = every stage"},
      {"network.split_stage", T::kInt, "0", "split: number of shared stages"},
      {"network.init", T::kString, "diagonal", "fusion weight init: diagonal, xavier, msra"},
      {"network.alpha", T::kDouble, "0.9", "diagonal init: own-task weight"},
      {"network.beta", T::kDouble, "0.1", "diagonal init: other-task weight"},
      {"network.batch_norm", T::kBool, "true", "nddr: BatchNorm after the 1x1 conv"},
      {"network.relu", T::kBool, "true", "nddr: ReLU after BatchNorm"},
      {"network.per_channel", T::kBool, "true", "cross_stitch/sluice: weights per channel"},
      {"network.head_hidden", T::kInt, "1024", "fc6/fc7 width of dense heads"},
      {"network.head_dilation", T::kInt, "12", "fc6 dilation of dense heads"},
      {"network.head_dropout", T::kDouble, "0.5", "dropout after fc6 and fc7"},

      {"tasks", T::kTaskList,
       "[{name: seg, kind: segmentation, channels: 40, loss_weight: 1},"
       " {name: normals, kind: normals, channels: 3, loss_weight: 20}]",
       "list of {name, kind, channels, loss_weight}"},

      {"data.train.dataset", T::kString, "synthetic_scenes", "training dataset (registry name)"},
      {"data.train.options", T::kStringMap, "{}", "training dataset options"},
      {"data.test.dataset", T::kString, "synthetic_scenes", "evaluation dataset (registry name)"},
      {"data.test.options", T::kStringMap, "{}", "evaluation dataset options"},
      {"data.scale_min", T::kDouble, "1.0", "random scale lower bound (training)"},
      {"data.scale_max", T::kDouble, "1.0", "random scale upper bound, exclusive"},
      {"data.flip", T::kBool, "false", "random horizontal flip (negates normals' x)"},
      {"data.crop_height", T::kInt, "0", "random crop height (0 = no crop)"},
      {"data.crop_width", T::kInt, "0", "random crop width (0 = no crop)"},
      {"data.normalize", T::kString, "mean_std", "none, mean_std, bgr_mean (the reference's)"},
      {"data.mean", T::kDoubleList, "[0.485, 0.456, 0.406]", "mean_std: RGB mean on [0,1]"},
      {"data.std", T::kDoubleList, "[0.229, 0.224, 0.225]", "mean_std: RGB std on [0,1]"},
      {"data.workers", T::kInt, "2", "loader worker threads"},
      {"data.prefetch", T::kInt, "4", "batches prepared ahead"},

      {"train.steps", T::kInt, "1000", "optimizer steps"},
      {"train.batch_size", T::kInt, "8", "images per step"},
      {"train.lr", T::kDouble, "0.001", "base learning rate"},
      {"train.momentum", T::kDouble, "0.9", "SGD momentum"},
      {"train.weight_decay", T::kDouble, "0.0005", "L2 weight decay of conv/linear weights"},
      {"train.poly_power", T::kDouble, "0.9", "lr = base * (1 - step/steps)^power per group"},
      {"train.lr_mult_fusion", T::kDouble, "100", "LR multiplier of fusion (NDDR etc.) params"},
      {"train.lr_mult_last_weight", T::kDouble, "10", "LR multiplier of the heads' fc8 weights"},
      {"train.lr_mult_last_bias", T::kDouble, "20", "LR multiplier of the heads' fc8 biases"},
      {"train.fusion_weight_decay_mult", T::kDouble, "1.0",
       "weight-decay multiplier of fusion weights"},
      {"train.init_from", T::kStringList, "[]",
       "safetensors files whose tensors are loaded by name before training (e.g. single-task "
       "runs' weights); fusion layers absent from them start fresh"},
      {"train.init_backbone", T::kString, "\"\"",
       "torchvision-named backbone safetensors loaded into every column"},
      {"train.log_every", T::kInt, "10", "steps between JSONL log lines"},
      {"train.eval_every", T::kInt, "0", "steps between evaluations (0 = only at the end)"},
      {"train.checkpoint_every", T::kInt, "500", "steps between checkpoints (0 = only at the end)"},

      {"eval.batch_size", T::kInt, "16", "evaluation batch size (1 for images of varying size)"},
  };
  return schema;
}

}  // namespace nddr
