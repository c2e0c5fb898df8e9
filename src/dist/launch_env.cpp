#include "nddr/dist/launch_env.h"

#include <cstdlib>

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr::dist {

namespace {

struct Names {
  const char* launcher;
  const char* rank;
  const char* size;
  const char* local_rank;
};

constexpr Names kTorchrun{"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"};
constexpr Names kSlurm{"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"};
constexpr Names kOpenMpi{"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                         "OMPI_COMM_WORLD_LOCAL_RANK"};

class Reader {
 public:
  explicit Reader(const std::function<const char*(const char*)>& lookup) : lookup_(lookup) {}

  bool has(const char* name) const { return lookup_(name) != nullptr; }

  int64_t count(const char* name, int64_t fallback) const {
    const char* value = lookup_(name);
    if (value == nullptr) return fallback;
    const auto parsed = parse_small_count(value);
    if (!parsed) {
      throw Error(std::string("environment variable ") + name + "='" + value +
                  "' is not a non-negative integer");
    }
    return *parsed;
  }

  std::string text(const char* name) const {
    const char* value = lookup_(name);
    return value == nullptr ? "" : value;
  }

 private:
  const std::function<const char*(const char*)>& lookup_;
};

}  // namespace

LaunchEnv read_launch_env(const std::function<const char*(const char*)>& lookup) {
  const Reader env(lookup);
  LaunchEnv launch;
  const Names* names = nullptr;
  for (const Names* candidate : {&kTorchrun, &kSlurm, &kOpenMpi}) {
    if (env.has(candidate->rank) || env.has(candidate->size)) {
      names = candidate;
      break;
    }
  }
  if (names == nullptr) return launch;

  launch.launcher = names->launcher;
  if (!env.has(names->rank) || !env.has(names->size)) {
    throw Error(std::string(names->launcher) + " launch: both " + names->rank + " and " +
                names->size + " must be set");
  }
  launch.rank = env.count(names->rank, 0);
  launch.world_size = env.count(names->size, 1);
  launch.local_rank = env.count(names->local_rank, 0);
  if (launch.world_size < 1 || launch.rank >= launch.world_size) {
    throw Error(std::string(names->rank) + "=" + std::to_string(launch.rank) + " must be below " +
                names->size + "=" + std::to_string(launch.world_size));
  }

  // One node: every rank is local. torchrun always sets MASTER_ADDR itself.
  const bool one_node = names == &kSlurm ? env.count("SLURM_NNODES", 1) == 1
                        : names == &kOpenMpi
                            ? env.count("OMPI_COMM_WORLD_LOCAL_SIZE", 0) == launch.world_size
                            : false;
  const std::string master = env.text("MASTER_ADDR");
  if (!master.empty()) {
    launch.master_addr = master;
  } else if (!one_node && launch.world_size > 1) {
    throw Error(std::string(names->launcher) +
                " launch over several nodes: set MASTER_ADDR to the host of rank 0 (see "
                "docs/distributed.md)");
  }
  launch.master_port = env.count("MASTER_PORT", launch.master_port);
  if (names == &kTorchrun && env.text("TORCHELASTIC_USE_AGENT_STORE") == "True") {
    launch.use_agent_store = true;
    launch.store_prefix =
        "/worker/attempt_" + std::to_string(env.count("TORCHELASTIC_RESTART_COUNT", 0)) + "/";
  }
  if (launch.master_port < 1 || launch.master_port > 65535) {
    throw Error("MASTER_PORT=" + std::to_string(launch.master_port) + " is not a TCP port");
  }
  return launch;
}

LaunchEnv launch_env_from_environment() {
  return read_launch_env([](const char* name) { return std::getenv(name); });
}

}  // namespace nddr::dist
