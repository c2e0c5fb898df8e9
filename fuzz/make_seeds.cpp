// Writes the seed corpora of the fuzz targets: small valid files of every
// format, made by nddr's own writers (and stb's JPEG writer), so the fuzzers
// start from inputs that pass the first checks.
//
//   make_seeds <corpus-dir>   -> <corpus-dir>/{safetensors,npy,image,checkpoint}/...

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "data/file_fixtures.h"
#include "nddr/io/image.h"
#include "nddr/io/npy.h"
#include "nddr/io/safetensors.h"
#include "nddr/train/checkpoint.h"

// stb's JPEG encoder left-shifts negative values, which UBSan reports: the
// encoder only makes seeds and is not under test.
#pragma clang attribute push(__attribute__((no_sanitize("undefined"))), apply_to = function)
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#pragma clang attribute pop

namespace fs = std::filesystem;

namespace {

void write_jpeg(const std::string& path, int width, int height, int channels) {
  std::vector<unsigned char> pixels(static_cast<size_t>(width * height * channels));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>(i * 37);
  stbi_write_jpg(path.c_str(), width, height, channels, pixels.data(), 90);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds <corpus-dir>\n";
    return 2;
  }
  const fs::path root = argv[1];
  for (const char* folder : {"safetensors", "npy", "image", "checkpoint"}) {
    fs::create_directories(root / folder);
  }
  torch::manual_seed(0);

  nddr::save_safetensors((root / "safetensors/float.safetensors").string(),
                         {{"w", torch::randn({3, 2})}, {"b", torch::zeros({3})}},
                         {{"config", "seed: 1"}});
  nddr::save_safetensors((root / "safetensors/dtypes.safetensors").string(),
                         {{"h", torch::ones({2}, torch::kHalf)},
                          {"l", torch::arange(4, torch::kLong)},
                          {"m", torch::tensor({true, false})},
                          {"u", torch::full({2, 2}, 7, torch::kByte)},
                          {"e", torch::zeros({0, 3})}});

  nddr::save_npy((root / "npy/float.npy").string(), torch::randn({2, 3}));
  nddr::save_npy((root / "npy/int.npy").string(), torch::arange(6, torch::kInt).view({3, 2}));
  nddr::save_npy((root / "npy/bool.npy").string(), torch::tensor({true, false, true}));
  nddr::save_npy((root / "npy/scalar.npy").string(), torch::tensor(2.5, torch::kDouble));
  nddr::testing::write_big_endian_npy((root / "npy/big_endian.npy").string(), torch::randn({2, 2}));

  // The image fuzzer's first byte picks the channels: prefix a 0.
  const auto prefixed = [&](const std::string& name, const fs::path& made) {
    std::ifstream in(made, std::ios::binary);
    std::string bytes(1, '\0');
    bytes.append(std::istreambuf_iterator<char>(in), {});
    std::ofstream(root / "image" / name, std::ios::binary) << bytes;
    fs::remove(made);
  };
  const fs::path scratch = root / "scratch";
  fs::create_directories(scratch);
  nddr::write_png((scratch / "rgb.png").string(), torch::randint(0, 256, {5, 7, 3}, torch::kByte));
  prefixed("rgb.png", scratch / "rgb.png");
  nddr::write_png((scratch / "grey.png").string(), torch::randint(0, 256, {4, 4}, torch::kByte));
  prefixed("grey.png", scratch / "grey.png");
  nddr::write_png((scratch / "rgba.png").string(), torch::randint(0, 256, {3, 2, 4}, torch::kByte));
  prefixed("rgba.png", scratch / "rgba.png");
  nddr::testing::write_png16((scratch / "depth.png").string(),
                             torch::randint(0, 65536, {4, 3}, torch::kLong));
  prefixed("depth16.png", scratch / "depth.png");
  write_jpeg((scratch / "rgb.jpg").string(), 8, 8, 3);
  prefixed("rgb.jpg", scratch / "rgb.jpg");
  write_jpeg((scratch / "grey.jpg").string(), 9, 5, 1);
  prefixed("grey.jpg", scratch / "grey.jpg");
  fs::remove_all(scratch);

  torch::nn::Linear net(4, 3);
  torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  // One step, so the optimizer holds momentum buffers.
  net->forward(torch::randn({2, 4})).sum().backward();
  optimizer.step();
  nddr::save_checkpoint((root / "checkpoint/current.pt").string(), *net, optimizer,
                        nddr::CheckpointState{3, 1, "seed: 1\n", 0});
  return 0;
}
