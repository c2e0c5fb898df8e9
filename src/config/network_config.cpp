#include "nddr/config/network_config.h"

#include "nddr/tasks/task_kind.h"
#include "nddr/util/error.h"

namespace nddr {

std::vector<TaskSpec> tasks_from_config(const Config& config) {
  std::vector<TaskSpec> tasks;
  for (const auto& item : config.node("tasks")) {
    TaskSpec task;
    task.name = item["name"].as<std::string>();
    task.kind = parse_task_kind(item["kind"].as<std::string>());
    if (item["channels"]) {
      task.channels = item["channels"].as<int64_t>();
    } else if (task.kind->fixed_channels > 0) {
      task.channels = task.kind->fixed_channels;
    } else {
      throw Error("tasks: task '" + task.name + "' needs 'channels' (its number of classes)");
    }
    if (item["loss_weight"]) task.loss_weight = item["loss_weight"].as<double>();
    tasks.push_back(task);
  }
  validate_tasks(tasks);
  return tasks;
}

NetworkOptions network_options_from_config(const Config& config) {
  NetworkOptions options;
  options.backbone.name = config.get_string("network.backbone");
  options.backbone.width = config.get_double("network.width");
  options.backbone.output_stride = config.get_int("network.output_stride");
  options.tasks = tasks_from_config(config);
  FusionOptions& fusion = options.fusion;
  fusion.method = config.get_string("network.fusion");
  fusion.positions = config.get_int_list("network.positions");
  fusion.split_stage = config.get_int("network.split_stage");
  fusion.init = parse_fusion_init(config.get_string("network.init"));
  fusion.alpha = config.get_double("network.alpha");
  fusion.beta = config.get_double("network.beta");
  fusion.batch_norm = config.get_bool("network.batch_norm");
  fusion.relu = config.get_bool("network.relu");
  fusion.per_channel = config.get_bool("network.per_channel");
  options.head_hidden = config.get_int("network.head_hidden");
  options.head_dilation = config.get_int("network.head_dilation");
  options.head_dropout = config.get_double("network.head_dropout");
  return options;
}

}  // namespace nddr
