#include "nddr/dist/run_group.h"

#include "nddr/train/execution.h"
#include "nddr/train/rank_device.h"

namespace nddr::dist {

std::vector<std::pair<std::string, std::string>> config_items(const Config& config) {
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& spec : config_schema()) {
    YAML::Emitter out;
    out << YAML::Flow << config.node(spec.key);
    items.emplace_back(spec.key, out.c_str());
  }
  return items;
}

std::shared_ptr<ProcessGroup> process_group_for_run(const Config& config) {
  const LaunchEnv launch = launch_env_from_environment();
  if (launch.world_size <= 1) return nullptr;
  // From here on device auto and cuda mean this rank's GPU, cuda:LOCAL_RANK.
  set_process_local_rank(launch.local_rank);
  auto group = std::make_shared<ProcessGroup>(
      launch, ProcessGroupOptions()
                  .backend(config.get_string("dist.backend"))
                  .cuda(resolve_device(config.get_string("device"), "device").is_cuda())
                  .timeout_seconds(config.get_double("dist.timeout"))
                  .bucket_mb(config.get_double("dist.bucket_mb")));
  group->check_identical(config_items(config), "config");
  return group;
}

}  // namespace nddr::dist
