#!/usr/bin/env python3
"""The paper's network (NDDR-CNN on VGG-16 DeepLab-LargeFOV with BN, two
tasks) in plain PyTorch eager: the yardstick for `nddr bench`.

Same layers, sizes, BN settings, losses, optimizer and step as nddr's
MultiTaskNet and Trainer::train_step (src/backbones/vgg.cpp,
src/layers/nddr_layer.cpp, src/models/heads.cpp, src/tasks/losses.cpp), timed
the same way: warm-up iterations, then each timed iteration ends with the
device's queue drained; prints one JSON object shaped like
`nddr bench --json` (inference and train_step: median_ms, mean_ms,
cpu_median_ms, images_per_second). Runs with PyTorch 1.13 (Debian's python3-torch) and 2.x.

  /usr/bin/python3 bench/pytorch_twin.py --batch 2 --height 161 --width 161 --net-width 0.5
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

BN_MOMENTUM = 0.05  # TF decay 0.95, as nddr
BN_EPS = 1e-3
IGNORE_LABEL = 255

# (convs, channels, dilation, pool stride, average pool after), VGG-16 LargeFOV.
VGG_STAGES = [(2, 64, 1, 2, False), (2, 128, 1, 2, False), (3, 256, 1, 2, False),
              (3, 512, 1, 1, False), (3, 512, 2, 1, True)]


def stages_at(output_stride):
    """DeepLab's trade of pooling stride for dilation, as nddr's vgg_stages_at."""
    stages, stride, extra = [], 1, 1
    for convs, channels, dilation, pool_stride, average in VGG_STAGES:
        dilation *= extra
        if pool_stride == 2 and stride * 2 > output_stride:
            pool_stride = 1
            extra *= 2
        stride *= pool_stride
        stages.append((convs, channels, dilation, pool_stride, average))
    return stages


def scaled(channels, width):
    return max(1, int(math.floor(channels * width + 0.5)))


def batch_norm(channels):
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class Column(nn.Module):
    def __init__(self, width, output_stride):
        super().__init__()
        self.stages = nn.ModuleList()
        self.channels = []
        in_channels = 3
        for convs, channels, dilation, pool_stride, average in stages_at(output_stride):
            out = scaled(channels, width)
            layers = []
            for _ in range(convs):
                layers += [nn.Conv2d(in_channels, out, 3, padding=dilation, dilation=dilation,
                                     bias=False), batch_norm(out), nn.ReLU(inplace=True)]
                in_channels = out
            layers.append(nn.MaxPool2d(3, stride=pool_stride, padding=1))
            if average:
                layers.append(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False))
            self.stages.append(nn.Sequential(*layers))
            self.channels.append(out)


class Nddr(nn.Module):
    """K per-task 1x1 convs over the concatenated features, run as one conv with
    the weights stacked (as nddr does), then BN and ReLU per task."""

    def __init__(self, tasks, channels):
        super().__init__()
        self.conv = nn.ModuleList(
            nn.Conv2d(tasks * channels, channels, 1, bias=False) for _ in range(tasks))
        self.bn = nn.ModuleList(batch_norm(channels) for _ in range(tasks))

    def forward(self, features):
        weight = torch.cat([conv.weight for conv in self.conv], 0)
        outputs = F.conv2d(torch.cat(features, 1), weight).chunk(len(self.conv), 1)
        return [F.relu(bn(x)) for bn, x in zip(self.bn, outputs)]


class LargeFovHead(nn.Module):
    def __init__(self, in_channels, hidden, dilation, dropout, out_channels):
        super().__init__()
        self.fc6 = nn.Conv2d(in_channels, hidden, 3, padding=dilation, dilation=dilation,
                             bias=False)
        self.bn6 = batch_norm(hidden)
        self.drop6 = nn.Dropout2d(dropout)
        self.fc7 = nn.Conv2d(hidden, hidden, 1, bias=False)
        self.bn7 = batch_norm(hidden)
        self.drop7 = nn.Dropout2d(dropout)
        self.fc8 = nn.Conv2d(hidden, out_channels, 1, bias=True)

    def forward(self, x):
        x = self.drop6(F.relu(self.bn6(self.fc6(x))))
        x = self.drop7(F.relu(self.bn7(self.fc7(x))))
        return self.fc8(x)


class NddrNet(nn.Module):
    """Two VGG columns with an NDDR layer after every stage, one head each."""

    def __init__(self, tasks, width, output_stride, hidden, dilation, dropout):
        super().__init__()
        self.tasks = tasks
        self.columns = nn.ModuleList(Column(width, output_stride) for _ in tasks)
        channels = self.columns[0].channels
        self.fusion = nn.ModuleList(Nddr(len(tasks), c) for c in channels)
        self.heads = nn.ModuleList(
            LargeFovHead(channels[-1], hidden, dilation, dropout, out) for _, _, out, _ in tasks)

    def forward(self, images):
        features = [images] * len(self.tasks)
        for s, fusion in enumerate(self.fusion):
            features = [column.stages[s](x) for column, x in zip(self.columns, features)]
            features = fusion(features)
        return [head(x) for head, x in zip(self.heads, features)]


def masked_cross_entropy(logits, labels):
    total = F.nll_loss(torch.log_softmax(logits, 1), labels, ignore_index=IGNORE_LABEL,
                       reduction="sum")
    return total / (labels != IGNORE_LABEL).sum().clamp_min(1).to(total.dtype)


def normals_loss(output, truth):
    valid = (truth.abs().sum(1) > 0).to(output.dtype)
    cosine = (F.normalize(output, dim=1) * F.normalize(truth, dim=1)).sum(1)
    return ((1 - cosine) * valid).sum() / valid.sum().clamp_min(1)


def resize_nearest(target, height, width):
    """nddr's resize_target_nearest: pick rows/cols floor(i * in / out)."""
    rows_dim, cols_dim = target.dim() - 2, target.dim() - 1
    if target.size(rows_dim) == height and target.size(cols_dim) == width:
        return target
    rows = (torch.arange(height, device=target.device) * target.size(rows_dim)) // height
    cols = (torch.arange(width, device=target.device) * target.size(cols_dim)) // width
    return target.index_select(rows_dim, rows).index_select(cols_dim, cols)


def parameter_groups(net, lr, weight_decay):
    """Decayed conv weights and undecayed BN parameters and biases, as nddr's
    optimizer roles (the LR multipliers cost nothing and are left out)."""
    decayed, plain = [], []
    for module in net.modules():
        for name, parameter in module.named_parameters(recurse=False):
            no_decay = isinstance(module, nn.BatchNorm2d) or name == "bias"
            (plain if no_decay else decayed).append(parameter)
    return [{"params": decayed, "weight_decay": weight_decay, "lr": lr},
            {"params": plain, "weight_decay": 0.0, "lr": lr}]


def make_scaler():
    try:
        return torch.amp.GradScaler("cuda")
    except (AttributeError, TypeError):
        return torch.cuda.amp.GradScaler()


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_iterations(warmup, iters, batch, device, body):
    for i in range(warmup):
        body(i)
    synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    ms, cpu_ms = [], []
    for i in range(iters):
        start, cpu_start = time.perf_counter(), time.process_time()
        body(warmup + i)
        synchronize(device)
        cpu_ms.append((time.process_time() - cpu_start) * 1000.0)
        ms.append((time.perf_counter() - start) * 1000.0)
    mean = sum(ms) / len(ms)
    # Process CPU time as nddr bench reports it: with one thread, the work.
    timing = {"min_ms": min(ms), "median_ms": statistics.median(ms), "mean_ms": mean,
              "cpu_median_ms": statistics.median(cpu_ms), "cpu_min_ms": min(cpu_ms),
              "images_per_second": batch * 1000.0 / mean}
    if device.type == "cuda":
        timing["peak_device_memory_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return timing


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--height", type=int, default=321)
    parser.add_argument("--width", type=int, default=321)
    parser.add_argument("--net-width", type=float, default=1.0, help="channel multiplier")
    parser.add_argument("--output-stride", type=int, default=8)
    parser.add_argument("--head-hidden", type=int, default=1024)
    parser.add_argument("--head-dilation", type=int, default=12)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: default)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--weight-decay", type=float, default=0.00025)
    args = parser.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.precision == "fp16" and device.type != "cuda":
        parser.error("fp16 needs a CUDA device")
    torch.backends.cudnn.benchmark = True
    autocast_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[args.precision]
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format

    # The paper's tasks: 40-class segmentation (weight 1), normals (weight 20).
    tasks = [("seg", "segmentation", 40, 1.0), ("normals", "normals", 3, 20.0)]
    torch.manual_seed(0)
    net = NddrNet(tasks, args.net_width, args.output_stride, args.head_hidden,
                  args.head_dilation, args.dropout).to(device, memory_format=memory_format)
    images = torch.randn(args.batch, 3, args.height, args.width).to(device)
    images = images.contiguous(memory_format=memory_format)
    targets = [torch.randint(40, (args.batch, args.height, args.width), device=device),
               F.normalize(torch.randn(args.batch, 3, args.height, args.width, device=device),
                           dim=1)]

    def forward():
        if autocast_dtype is None:
            return net(images)
        with torch.autocast(device_type=device.type, dtype=autocast_dtype):
            return net(images)

    net.eval()

    def infer(_):
        with torch.no_grad():
            forward()

    inference = time_iterations(args.warmup, args.iters, args.batch, device, infer)

    net.train()
    optimizer = torch.optim.SGD(parameter_groups(net, args.lr, args.weight_decay), lr=args.lr,
                                momentum=0.9)
    scaler = make_scaler() if args.precision == "fp16" else None
    steps = 1000

    def train_step(step):
        torch.manual_seed(step)  # nddr reseeds every step (dropout draws)
        for group in optimizer.param_groups:
            group["lr"] = args.lr * (1 - (step % steps) / steps) ** 0.9
        optimizer.zero_grad()
        outputs = forward()
        losses = []
        for (name, kind, _, weight), output, target in zip(tasks, outputs, targets):
            output = output.float()
            if kind == "segmentation":
                target = resize_nearest(target, output.size(2), output.size(3))
                losses.append(masked_cross_entropy(output, target))
            else:
                target = resize_nearest(target, output.size(2), output.size(3))
                losses.append(normals_loss(output, target))
        total = sum(w * loss for (_, _, _, w), loss in zip(tasks, losses))
        if scaler is None:
            total.backward()
            optimizer.step()
        else:
            scaler.scale(total).backward()
            scaler.step(optimizer)
            scaler.update()
        # One device-to-host transfer for every loss, as nddr's step.
        torch.stack([loss.detach() for loss in losses] + [total.detach()]).cpu()

    train = time_iterations(args.warmup, args.iters, args.batch, device, train_step)

    print(json.dumps({
        "implementation": "pytorch eager " + torch.__version__,
        "batch": args.batch, "height": args.height, "width": args.width,
        "network_width": args.net_width, "precision": args.precision,
        "channels_last": args.channels_last, "device": str(device),
        "threads": torch.get_num_threads(), "warmup": args.warmup, "iters": args.iters,
        "inference": inference, "train_step": train,
    }))


if __name__ == "__main__":
    main()
