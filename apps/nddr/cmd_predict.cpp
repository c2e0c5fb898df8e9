#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "commands.h"
#include "config_options.h"
#include "nddr/config/network_config.h"
#include "nddr/data/transforms.h"
#include "nddr/io/image.h"
#include "nddr/io/weights.h"
#include "nddr/models/fold_batchnorm.h"
#include "nddr/tasks/visualize.h"
#include "nddr/train/run.h"
#include "nddr/util/error.h"

namespace nddr::cli {

namespace {

namespace fs = std::filesystem;

// The positionals mix images and key=value overrides: an existing file is an
// image even if its name has a '=', any other word with a '=' is an override
// (so a mistyped key still gets the config's "did you mean"), the rest are
// images, which must then exist.
void split_positionals(const std::vector<std::string>& words, std::vector<std::string>& images,
                       std::vector<std::string>& overrides) {
  for (const auto& word : words) {
    if (!fs::is_regular_file(word) && word.find('=') != std::string::npos) {
      overrides.push_back(word);
    } else {
      images.push_back(word);
    }
  }
}

// Checked before any work so a typo in the last image does not cost the
// others' predictions, and two images never overwrite each other's outputs.
void check_images(const std::vector<std::string>& images) {
  if (images.empty()) throw Error("predict: no images given");
  std::map<std::string, std::string> by_stem;
  for (const auto& image : images) {
    if (!fs::is_regular_file(image)) throw Error("image '" + image + "' not found");
    const std::string stem = fs::path(image).stem().string();
    const auto [it, inserted] = by_stem.emplace(stem, image);
    if (!inserted) {
      throw Error("images '" + it->second + "' and '" + image + "' would both write " + stem +
                  "_<task>.png");
    }
  }
}

// [H,W,3] uint8 (or 16-bit as int32) -> float [3,H,W] in [0,1].
torch::Tensor image_to_float(const torch::Tensor& pixels) {
  const double scale = pixels.scalar_type() == torch::kByte ? 255.0 : 65535.0;
  return pixels.permute({2, 0, 1}).to(torch::kFloat).div(scale).contiguous();
}

struct PredictCommand {
  ConfigOptions config;
  std::string weights;
  std::string output;
  std::vector<std::string> positionals;

  void run() {
    std::vector<std::string> images;
    split_positionals(positionals, images, config.overrides);
    const Config loaded = config.load();
    check_images(images);
    const std::string path = weights.empty() ? run_paths(loaded).weights() : weights;
    const ExecutionOptions execution = execution_options(loaded);
    MultiTaskNet net(network_options_from_config(loaded));
    load_weights(*net, path);
    fold_batchnorm(*net);  // also sets eval mode
    place_network(*net, execution);
    configure_backends(execution);
    const NormalizeOptions normalize_options = eval_loader_options(loaded).normalize();
    fs::create_directories(output);

    torch::NoGradGuard no_grad;
    int64_t written = 0;
    for (const auto& image_path : images) {
      const torch::Tensor image = image_to_float(read_image(image_path, 3));
      const int64_t height = image.size(1), width = image.size(2);
      const Batch input{normalize(image, normalize_options).unsqueeze(0), {}};
      std::map<std::string, torch::Tensor> outputs;
      {
        const PrecisionScope precision(execution);
        outputs = net->forward(to_device(input, execution).images);
      }
      for (auto& item : outputs) item.second = item.second.to(torch::kCPU, torch::kFloat);
      const std::string stem = (fs::path(output) / fs::path(image_path).stem()).string();
      // Every output is computed before the first is written: a failure
      // leaves no partial set of files for this image.
      std::vector<std::pair<std::string, torch::Tensor>> pngs;
      std::vector<std::string> lines;
      for (const auto& task : net->tasks()) {
        const torch::Tensor& raw = outputs.at(task.name);
        if (is_dense(task.kind)) {
          pngs.emplace_back(stem + "_" + task.name + ".png",
                            colorize_prediction(task, upsample_to(raw, height, width)[0]));
        } else {
          const auto probabilities = raw[0].softmax(0);
          const int64_t best = probabilities.argmax().item<int64_t>();
          std::ostringstream line;
          line << image_path << " " << task.name << " " << best << " " << std::fixed
               << std::setprecision(4) << probabilities[best].item<double>();
          lines.push_back(line.str());
        }
      }
      for (const auto& png : pngs) write_png(png.first, png.second);
      for (const auto& line : lines) std::cout << line << "\n";
      written += static_cast<int64_t>(pngs.size());
    }
    std::cerr << "predict: " << images.size() << " image(s), " << written << " PNG(s) in " << output
              << "\n";
  }
};

}  // namespace

void add_predict_command(CLI::App& app) {
  auto command = std::make_shared<PredictCommand>();
  CLI::App* sub = app.add_subcommand(
      "predict", "Run a trained network on images and write each dense task's output as PNG");
  command->config.add_to(*sub);
  // Images and overrides share the positionals (see split_positionals).
  sub->remove_option(sub->get_option("overrides"));
  sub->add_option("images", command->positionals,
                  "images (PNG/JPEG), and config overrides key=value")
      ->required();
  sub->add_option("-w,--weights", command->weights,
                  "weights (safetensors); default: the run directory's weights.safetensors");
  sub->add_option("-o,--output", command->output,
                  "directory for <image stem>_<task>.png (created if missing)")
      ->required();
  sub->callback([command] { command->run(); });
}

}  // namespace nddr::cli
