#include <cmath>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "bench_timing.h"
#include "bench_weighting.h"
#include "commands.h"
#include "config_options.h"
#include "device_peaks.h"
#include "nddr/config/network_config.h"
#include "nddr/data/loader.h"
#include "nddr/deploy/torchscript_export.h"
#include "nddr/models/flops.h"
#include "nddr/models/fold_batchnorm.h"
#include "nddr/tasks/task_kind.h"
#include "nddr/train/run.h"
#include "nddr/util/error.h"

namespace nddr::cli {

namespace {

// Random images with valid random targets for every task, so the train step
// runs every loss on real values without reading any data.
class RandomSamples : public Dataset {
 public:
  RandomSamples(std::vector<TaskSpec> tasks, int64_t count, int64_t height, int64_t width)
      : tasks_(std::move(tasks)), count_(count), height_(height), width_(width) {}

  int64_t size() const override { return count_; }

  Sample get(int64_t /*index*/) const override {
    Sample sample;
    sample.image = torch::rand({3, height_, width_});
    for (const auto& task : tasks_) {
      sample.targets[task.name] = task.kind->random_targets(task, 1, height_, width_)[0];
    }
    return sample;
  }

  std::vector<TaskSpec> tasks() const override { return tasks_; }

  std::string describe() const override {
    return "random samples " + std::to_string(height_) + "x" + std::to_string(width_);
  }

 private:
  std::vector<TaskSpec> tasks_;
  int64_t count_, height_, width_;
};

struct BenchCommand {
  ConfigOptions config;
  int64_t batch = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t warmup = 2;
  int64_t iters = 10;
  CLI::Option* threads = nullptr;
  int64_t thread_count = 0;
  double peak_override = 0.0;
  bool data_only = false;
  bool json = false;
  bool torchscript = false;
  CLI::Option* weighting = nullptr;
  std::vector<std::string> weighting_methods;

  // This command's own arguments, for the per-method child processes.
  std::vector<std::string> plain_arguments() const {
    std::vector<std::string> args = {"bench"};
    if (!config.file.empty()) args.insert(args.end(), {"--config", config.file});
    for (const auto& [flag, value] :
         std::vector<std::pair<std::string, int64_t>>{{"--batch", batch},
                                                      {"--height", height},
                                                      {"--width", width},
                                                      {"--warmup", warmup},
                                                      {"--iters", iters}}) {
      if (value != 0 || flag == "--warmup") args.insert(args.end(), {flag, std::to_string(value)});
    }
    if (threads->count() > 0) args.insert(args.end(), {"--threads", std::to_string(thread_count)});
    args.insert(args.end(), config.overrides.begin(), config.overrides.end());
    return args;
  }

  void run() {
    if (weighting->count() > 0) {
      run_weighting_bench(plain_arguments(), weighting_methods, json);
      return;
    }
    if (threads->count() > 0) config.overrides.push_back("threads=" + std::to_string(thread_count));
    const Config loaded = config.load();
    if (peak_override < 0.0) throw Error("--peak-tflops must be > 0");
    if (data_only) {
      run_loader(loaded);
      return;
    }
    if (warmup < 0) throw Error("--warmup must be >= 0, got " + std::to_string(warmup));
    if (iters < 1) throw Error("--iters must be >= 1, got " + std::to_string(iters));
    if ((height > 0) != (width > 0)) throw Error("--height and --width must be given together");
    if (height < 0 || width < 0) throw Error("--height and --width must be >= 1");
    if (batch < 0) throw Error("--batch must be >= 1, got " + std::to_string(batch));
    if (batch == 0) batch = loaded.get_int("train.batch_size");
    if (height == 0) {
      const torch::Tensor image = dataset_from_config(loaded, "test")->get(0).image;
      height = image.size(1);
      width = image.size(2);
    }

    const ExecutionOptions execution = execution_options(loaded);
    torch::manual_seed(static_cast<uint64_t>(loaded.get_int("seed")));
    MultiTaskNet net(network_options_from_config(loaded));
    auto samples = std::make_shared<RandomSamples>(net->tasks(), batch, height, width);
    std::vector<Sample> items;
    for (int64_t i = 0; i < batch; ++i) items.push_back(samples->get(i));
    Batch input = collate(items, net->tasks());
    const TrainLoaderOptions loader = train_loader_options(loaded);
    input.images = normalize(input.images, loader.normalize());
    place_network(*net, execution);
    configure_backends(execution);
    input = to_device(input, execution);
    // Forward MACs counted once (the count depends on shapes only). FLOPs =
    // 2 MACs; a train step counts as 3 forwards (backward ~ 2 forwards).
    const double forward_flop = [&] {
      torch::NoGradGuard no_grad;
      net->eval();
      return 2.0 *
             static_cast<double>(count_forward_flops([&] { net->forward(input.images); }).macs);
    }();
    const std::string name = device_name(execution.device());
    const std::optional<double> peak = peak_override > 0.0
                                           ? std::optional<double>(peak_override)
                                           : peak_tflops(name, execution.precision());

    // Inference first: the process's peak RSS only grows, so the inference
    // figures are not masked by the train step's gradients and optimizer
    // state. The inference paths run interleaved (bench_timing.h), so their
    // ratios hold on a loaded machine.
    net->eval();
    MultiTaskNet folded = batchnorm_folded(*net);  // what `nddr eval` and `predict` run
    std::vector<Iteration> paths = {[&](int64_t) {
                                      torch::NoGradGuard no_grad;
                                      const PrecisionScope precision(execution);
                                      net->forward(input.images);
                                    },
                                    [&](int64_t) {
                                      torch::NoGradGuard no_grad;
                                      const PrecisionScope precision(execution);
                                      folded->forward(input.images);
                                    }};
    // What `nddr export` writes, traced at the benchmark's input size.
    std::optional<torch::jit::Module> module;
    if (torchscript) {
      module = trace_network(*net, ExportOptions().height(height).width(width));
      paths.push_back([&](int64_t) {
        torch::NoGradGuard no_grad;
        module->forward({input.images});
      });
    }
    std::vector<Timing> inference_paths =
        time_interleaved(warmup, iters, batch, execution.device(), paths);
    for (Timing& timing : inference_paths) add_throughput(timing, forward_flop, peak);
    const Timing& inference = inference_paths[0];
    const Timing& inference_folded = inference_paths[1];
    std::optional<Timing> inference_torchscript;
    if (torchscript) inference_torchscript = inference_paths[2];
    const TrainOptions options = train_options(loaded).run_dir("");
    Trainer trainer(net, samples, loader, options);
    // Steps wrap within train.steps so the poly schedule stays defined.
    Timing train = time_iterations(warmup, iters, batch, execution.device(), [&](int64_t i) {
      trainer.train_step(input, i % options.steps());
    });
    add_throughput(train, 3.0 * forward_flop, peak);

    nlohmann::json report = {
        {"config", loaded.get_string("name")},
        {"backbone", loaded.get_string("network.backbone")},
        {"network_width", loaded.get_double("network.width")},
        {"fusion", loaded.get_string("network.fusion")},
        {"batch", batch},
        {"height", height},
        {"width", width},
        {"threads", torch::get_num_threads()},
        {"device", execution.device().str()},
        {"device_name", name},
        {"precision", to_string(execution.precision())},
        {"channels_last", execution.channels_last()},
        {"forward_gflop", forward_flop / 1e9},
        {"peak_tflops", peak ? nlohmann::json(*peak) : nlohmann::json()},
        {"warmup", warmup},
        {"iters", iters},
        {"inference", inference},
        {"inference_folded", inference_folded},
        {"train_step", train},
    };
    if (inference_torchscript) report["inference_torchscript"] = *inference_torchscript;
    if (json) {
      std::cout << report.dump() << "\n";
      return;
    }
    print_text(report);
  }

  // The loader alone: data.train through the training loader (workers,
  // augmentation, normalisation, collation), no network.
  void run_loader(const Config& loaded) const {
    const auto dataset = dataset_from_config(loaded, "train");
    const TrainLoaderOptions options =
        train_loader_options(loaded).tasks(tasks_from_config(loaded));
    TrainLoader loader(dataset, options);
    const Timing timing =
        time_iterations(warmup, iters, options.batch_size(), torch::Device(torch::kCPU),
                        [&](int64_t) { loader.next(); });
    const nlohmann::json report = {{"config", loaded.get_string("name")},
                                   {"dataset", dataset->describe()},
                                   {"batch", options.batch_size()},
                                   {"workers", options.workers()},
                                   {"prefetch", options.prefetch()},
                                   {"warmup", warmup},
                                   {"iters", iters},
                                   {"loader", timing}};
    if (json) {
      std::cout << report.dump() << "\n";
      return;
    }
    std::cout << "loader: " << report["dataset"].get<std::string>() << ", batch "
              << options.batch_size() << ", " << options.workers() << " worker(s)\n"
              << std::fixed << std::setprecision(2) << "median ms/batch " << timing.median_ms
              << ", mean " << timing.mean_ms << ", " << timing.images_per_second << " images/s\n";
  }

  static void print_text(const nlohmann::json& report) {
    std::cout << "network: " << report["backbone"].get<std::string>() << " x"
              << report["network_width"].get<double>() << ", fusion "
              << report["fusion"].get<std::string>() << "\n"
              << "input: batch " << report["batch"] << " x 3x" << report["height"] << "x"
              << report["width"] << ", " << report["threads"] << " thread(s), " << report["warmup"]
              << " warmup + " << report["iters"] << " timed iterations\n"
              << "device: " << report["device"].get<std::string>() << " ("
              << report["device_name"].get<std::string>() << "), "
              << report["precision"].get<std::string>()
              << (report["channels_last"].get<bool>() ? ", channels_last" : "") << ", "
              << std::setprecision(1) << std::fixed << report["forward_gflop"].get<double>()
              << " GFLOP per forward\n"
              << std::left << std::setw(22) << "" << std::right << std::setw(11) << "median ms"
              << std::setw(11) << "mean ms" << std::setw(11) << "CPU ms" << std::setw(11)
              << "images/s" << std::setw(15) << "peak RSS MiB" << std::setw(10) << "TFLOP/s"
              << std::setw(8) << "MFU" << std::setw(16) << "device MiB"
              << "\n"
              << std::fixed;
    for (const char* phase :
         {"inference", "inference_folded", "inference_torchscript", "train_step"}) {
      if (!report.contains(phase)) continue;
      const auto& timing = report[phase];
      std::cout << std::left << std::setw(22) << phase << std::right << std::setprecision(2)
                << std::setw(11) << timing["median_ms"].get<double>() << std::setw(11)
                << timing["mean_ms"].get<double>() << std::setw(11)
                << timing["cpu_median_ms"].get<double>() << std::setw(11)
                << timing["images_per_second"].get<double>() << std::setprecision(0)
                << std::setw(15);
      const double rss = timing["peak_rss_mib"].get<double>();
      if (std::isfinite(rss)) {
        std::cout << rss;
      } else {
        std::cout << "n/a";
      }
      std::cout << std::setprecision(3) << std::setw(10) << timing["tflops"].get<double>()
                << std::setw(8);
      if (timing["mfu"].is_number()) {
        std::cout << std::setprecision(1) << 100.0 * timing["mfu"].get<double>() << "%";
      } else {
        std::cout << "n/a";
      }
      const double device_mib = timing["peak_device_memory_mib"].get<double>();
      std::cout << std::setprecision(0) << std::setw(15);
      if (device_mib >= 0.0) {
        std::cout << device_mib << "\n";
      } else {
        std::cout << "n/a"
                  << "\n";
      }
    }
  }
};

}  // namespace

void add_bench_command(CLI::App& app) {
  auto command = std::make_shared<BenchCommand>();
  CLI::App* sub = app.add_subcommand(
      "bench", "Time the train step and inference of a config's network on random input");
  command->config.add_to(*sub);
  sub->add_option("--batch", command->batch, "images per iteration (default: train.batch_size)")
      ->check(CLI::Range(int64_t{1}, int64_t{8192}));
  sub->add_option("--height", command->height,
                  "input height (default: the first test sample's, with --width)");
  sub->add_option("--width", command->width, "input width (with --height)");
  sub->add_option("--warmup", command->warmup, "untimed iterations first (default 2)");
  sub->add_option("--iters", command->iters, "timed iterations (default 10)");
  command->threads = sub->add_option("--threads", command->thread_count,
                                     "LibTorch threads (default: the config's threads key; 0 = "
                                     "$NDDR_THREADS or all cores)");
  sub->add_option("--peak-tflops", command->peak_override,
                  "the device's peak TFLOP/s for MFU (default: a table keyed by device name)");
  sub->add_flag("--data", command->data_only,
                "time the training loader alone (data.train, no network), in images/s");
  sub->add_flag("--json", command->json, "print the measurements as one JSON object");
  sub->add_flag("--torchscript", command->torchscript,
                "also time the network as `nddr export` writes it (traced, frozen TorchScript)");
  command->weighting =
      sub->add_option("--weighting", command->weighting_methods,
                      "time and peak memory of the train step per weighting method relative to "
                      "fixed, each in its own process (names, or none for all)")
          ->expected(0, -1);
  sub->callback([command] { command->run(); });
}

}  // namespace nddr::cli
