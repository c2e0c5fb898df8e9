#pragma once
// Whether a training or evaluation batch can fit in this machine's memory,
// checked when a run starts (the network and the image sizes are known
// then): a batch whose forward pass alone exceeds the memory would otherwise
// end in an allocation failure deep in the first step or the first
// evaluation, or swap the machine to a halt.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>

#include "nddr/models/multitask_net.h"

namespace nddr {

/// Bytes of the distinct tensors (storages) that the ATen ops `forward` runs
/// on this thread return, each kept alive until `forward` ends, leaving out
/// those of `net`'s parameters and buffers and of `input`: the memory a pass
/// of `forward` holds at its end if it keeps every result.
int64_t forward_tensor_bytes(torch::nn::Module& net, const std::function<void()>& forward,
                             const torch::Tensor& input);

/// Bytes of every distinct tensor the forward pass of one [C,H,W] image
/// creates (each ATen op's outputs, kept alive until the pass ends: about
/// what autograd holds for the backward pass, so a lower bound of training's
/// need). Measured without autograd and in eval mode (the network's state is
/// untouched) on a probe of a quarter of the side, at least 32 pixels, and
/// scaled by the pixel ratio.
int64_t activation_bytes_per_image(MultiTaskNetImpl& net, int64_t channels, int64_t height,
                                   int64_t width);

/// The most bytes the CPU allocator held at once while `pass` ran on this
/// thread, beyond what it held before: the peak live memory of `pass`,
/// counting tensors freed mid-pass only while they lived. Read from the
/// allocator's memory reports (the hook LibTorch's memory profiler uses).
int64_t peak_allocated_bytes(const std::function<void()>& pass);

/// Bytes one more [C,H,W] image adds to the peak memory of an inference
/// pass (eval mode, no autograd, as evaluation runs it): the peak of a batch
/// of three probe images minus that of two, so what does not grow with the
/// batch is left out. Measured on a probe of a quarter of the side, at least
/// 32 pixels, and scaled by the pixel ratio; the network's state is
/// untouched. CPU networks only (other allocators report elsewhere).
int64_t inference_bytes_per_image(MultiTaskNetImpl& net, int64_t channels, int64_t height,
                                  int64_t width);

/// Physical memory, or the cgroup's limit when lower; 0 when unknown.
int64_t usable_memory_bytes();

/// Throws an Error naming `key`, the estimate and the largest batch that
/// fits when `batch_size` images of `per_image` bytes exceed `memory` bytes.
void check_batch_memory(int64_t batch_size, int64_t per_image, int64_t memory,
                        const std::string& key);

}  // namespace nddr
