#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "config_options.h"
#include "nddr/config/network_config.h"
#include "nddr/models/flops.h"
#include "nddr/util/error.h"

namespace nddr::cli {

namespace {

struct InfoCommand {
  ConfigOptions config;
  int64_t height = 321;
  int64_t width = 321;
  bool json = false;
  bool no_flops = false;

  void run() const {
    if (height < 1 || width < 1) throw Error("--height and --width must be >= 1");
    const Config loaded = config.load();
    const NetworkOptions options = network_options_from_config(loaded);
    MultiTaskNet net(options);
    net->eval();

    nlohmann::json info;
    info["backbone"] = options.backbone.name;
    info["width"] = options.backbone.width;
    info["fusion"] = options.fusion.method;
    for (const auto& task : options.tasks) {
      info["tasks"].push_back({{"name", task.name},
                               {"kind", to_string(task.kind)},
                               {"channels", task.channels},
                               {"loss_weight", task.loss_weight}});
    }
    int64_t total = 0;
    for (const auto& part : net->parameter_counts()) {
      info["parameters"][part.first] = part.second;
      total += part.second;
    }
    info["parameters"]["total"] = total;
    std::map<std::string, int64_t> by_role;
    for (const auto& item : net->named_parameters()) {
      by_role[to_string(net->role_of(item.key()))] += item.value().numel();
    }
    info["parameters_by_role"] = by_role;
    for (const auto& child : net->named_children()) {
      int64_t count = 0;
      for (const auto& parameter : child.value()->parameters()) count += parameter.numel();
      info["modules"][child.key()] = count;
    }
    if (!no_flops) {
      torch::NoGradGuard no_grad;
      const auto images = torch::zeros({1, 3, height, width});
      std::map<std::string, torch::Tensor> outputs;
      const FlopCount flops = count_forward_flops([&] { outputs = net->forward(images); });
      info["input"] = {height, width};
      info["macs"] = flops.macs;
      info["flops"] = 2 * flops.macs;
      for (const auto& output : outputs)
        info["outputs"][output.first] = output.second.sizes().vec();
    }
    if (json) {
      std::cout << info.dump(2) << "\n";
      return;
    }
    print_text(info, *net);
  }

  void print_text(const nlohmann::json& info, MultiTaskNetImpl& net) const {
    std::cout << "network: " << info["backbone"].get<std::string>() << " x"
              << info["width"].get<double>() << ", fusion " << info["fusion"].get<std::string>()
              << "\n";
    for (const auto& task : info["tasks"]) {
      std::cout << "  task " << task["name"].get<std::string>() << ": "
                << task["kind"].get<std::string>() << ", " << task["channels"]
                << " channels, loss x" << task["loss_weight"] << "\n";
    }
    std::cout << "modules:\n";
    for (const auto& child : net.named_children()) {
      std::cout << "  " << std::left << std::setw(10) << child.key();
      for (const auto& grandchild : child.value()->named_children()) {
        std::cout << " " << grandchild.key();
      }
      std::cout << "  (" << info["modules"][child.key()] << " parameters)\n";
    }
    std::cout << "parameters:\n";
    for (const auto& part : info["parameters"].items()) {
      std::cout << "  " << std::left << std::setw(10) << part.key() << std::right << std::setw(12)
                << part.value().get<int64_t>() << "\n";
    }
    std::cout << "parameters by optimizer role:\n";
    for (const auto& role : info["parameters_by_role"].items()) {
      std::cout << "  " << std::left << std::setw(16) << role.key() << std::right << std::setw(12)
                << role.value().get<int64_t>() << "\n";
    }
    if (info.contains("macs")) {
      std::cout << "forward at " << height << "x" << width << ": " << std::fixed
                << std::setprecision(2) << info["macs"].get<int64_t>() / 1e9 << " GMACs ("
                << info["flops"].get<int64_t>() / 1e9 << " GFLOPs)\n";
      for (const auto& output : info["outputs"].items()) {
        std::cout << "  output " << output.key() << ": " << output.value().dump() << "\n";
      }
    }
  }
};

}  // namespace

void add_info_command(CLI::App& app) {
  auto command = std::make_shared<InfoCommand>();
  CLI::App* sub =
      app.add_subcommand("info", "Print a network's structure, parameters per part and FLOPs");
  command->config.add_to(*sub);
  sub->add_option("--height", command->height, "input height for FLOPs (default 321)");
  sub->add_option("--width", command->width, "input width for FLOPs (default 321)");
  sub->add_flag("--no-flops", command->no_flops, "skip the forward pass that counts FLOPs");
  sub->add_flag("--json", command->json, "print everything as one JSON object");
  sub->callback([command] { command->run(); });
}

}  // namespace nddr::cli
