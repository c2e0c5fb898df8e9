// Checkpoint loading into the module and optimizer the seed corpus was made
// with (make_seeds.cpp): a Linear(4, 3) and SGD with momentum. Inputs that
// start like a zip ("PK") take the path of checkpoints older than the
// checksum, straight into LibTorch's own parser, which crashes on some
// malformed archives (LibTorch 1.13, not fixable here): they are skipped.

#include <torch/torch.h>

#include "fuzz_input.h"
#include "nddr/train/checkpoint.h"
#include "nddr/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size >= 2 && data[0] == 'P' && data[1] == 'K') return 0;
  const std::string path = nddr::fuzz::input_file(data, size, "pt");
  torch::nn::Linear net(4, 3);
  torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  try {
    nddr::load_checkpoint(path, *net, optimizer);
  } catch (const nddr::Error&) {
  }
  return 0;
}
