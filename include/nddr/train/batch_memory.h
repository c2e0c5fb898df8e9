#pragma once
// Whether a training batch can fit in this machine's memory, checked when a
// run starts (the network and the image size are known then): a batch whose
// forward activations alone exceed the memory would otherwise end in an
// allocation failure deep in the first step, or swap the machine to a halt.

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

/// Physical memory, or the cgroup's limit when lower; 0 when unknown.
int64_t usable_memory_bytes();

/// Throws an Error naming `key`, the estimate and the largest batch that
/// fits when `batch_size` images of `per_image` bytes exceed `memory` bytes.
void check_batch_memory(int64_t batch_size, int64_t per_image, int64_t memory,
                        const std::string& key);

}  // namespace nddr
