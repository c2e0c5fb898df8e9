#pragma once
// The process group of a training run: from the launcher's environment and
// the config's dist.* keys, with the config checked to be the same on every
// rank before any work starts.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nddr/config/config.h"
#include "nddr/dist/process_group.h"

namespace nddr::dist {

/// Every config key with its value as YAML text, in schema order.
std::vector<std::pair<std::string, std::string>> config_items(const Config& config);

/// The group this process belongs to, or null when no launcher variable says
/// there is more than one rank (then training runs as a single process).
/// Errors name the variable, key or rank at fault; a config that differs from
/// rank 0's is an Error naming the first differing key.
std::shared_ptr<ProcessGroup> process_group_for_run(const Config& config);

}  // namespace nddr::dist
