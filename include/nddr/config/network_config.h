#pragma once
// Turns the "network.*" and "tasks" keys of a Config into model options.

#include "nddr/config/config.h"
#include "nddr/models/multitask_net.h"

namespace nddr {

/// The task list of "tasks"; channels default from the kind (3 normals, 1 depth).
std::vector<TaskSpec> tasks_from_config(const Config& config);

/// NetworkOptions from "network.*" and "tasks".
NetworkOptions network_options_from_config(const Config& config);

}  // namespace nddr
