// run_exported NETWORK.pt IMAGE.png OUT_DIR
//   or: run_exported NETWORK.pt --random HEIGHT WIDTH
// Loads an `nddr export` TorchScript file with torch::jit::load, reads its
// metadata (extra file nddr.json: tasks in output order, normalisation),
// runs it, and writes each dense task's colourised output as PNG (or, with
// --random, runs a random image and prints the output shapes).

#include <nddr/nddr.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

int main(int argc, char** argv) try {
  if (argc != 4 && argc != 5) {
    std::cerr << "usage: run_exported NETWORK.pt IMAGE.png OUT_DIR\n"
                 "       run_exported NETWORK.pt --random HEIGHT WIDTH\n";
    return 2;
  }
  torch::jit::ExtraFilesMap extra = {{nddr::kExportMetadataFile, ""}};
  torch::jit::Module network = torch::jit::load(argv[1], torch::kCPU, extra);
  const auto metadata = nlohmann::json::parse(extra.at(nddr::kExportMetadataFile));
  const bool random = std::string(argv[2]) == "--random";

  torch::Tensor image;  // float [3,H,W] in [0,1]
  if (random) {
    image = torch::rand({3, std::stoll(argv[3]), std::stoll(argv[4])});
  } else {
    image = nddr::read_image(argv[2], 3).permute({2, 0, 1}).to(torch::kFloat).div(255.0);
  }
  const auto& normalize = metadata["input"]["normalize"];
  auto options = nddr::NormalizeOptions().mode(normalize["mode"].get<std::string>());
  if (normalize.contains("mean")) {
    options.mean(normalize["mean"].get<std::vector<double>>())
        .stddev(normalize["stddev"].get<std::vector<double>>());
  }
  const torch::Tensor input = nddr::normalize(image, options).unsqueeze(0);

  torch::NoGradGuard no_grad;
  const auto outputs = network.forward({input}).toTuple()->elements();
  for (size_t k = 0; k < outputs.size(); ++k) {
    nddr::TaskSpec task;
    task.name = metadata["outputs"][k]["name"].get<std::string>();
    task.kind = nddr::parse_task_kind(metadata["outputs"][k]["kind"].get<std::string>());
    task.channels = metadata["outputs"][k]["channels"].get<int64_t>();
    const torch::Tensor output = outputs[k].toTensor();
    std::cout << task.name << " (" << nddr::to_string(task.kind) << "): " << output.sizes() << "\n";
    if (random || !nddr::is_dense(task.kind)) continue;
    const auto rgb =
        nddr::colorize_prediction(task, nddr::upsample_to(output, image.size(1), image.size(2))[0]);
    const auto path = std::filesystem::path(argv[3]) /
                      (std::filesystem::path(argv[2]).stem().string() + "_" + task.name + ".png");
    std::filesystem::create_directories(argv[3]);
    nddr::write_png(path.string(), rgb);
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
