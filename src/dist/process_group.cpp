#include "nddr/dist/process_group.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "gradient_buckets.h"
#include "group_state.h"
#include "nddr/util/error.h"

namespace nddr::dist {

namespace {

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

std::string seconds_text(double seconds) {
  std::ostringstream text;
  text << seconds << " s";
  return text.str();
}

// The address of this host on the route to the master, found by connecting a
// UDP socket (which sends nothing): Gloo must listen on an address the other
// ranks can reach, and the hostname may resolve to loopback or nothing.
std::string local_address_towards(const std::string& master_addr, int64_t master_port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(master_addr.c_str(), std::to_string(master_port).c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    throw Error("MASTER_ADDR '" + master_addr + "' does not resolve to an IPv4 address");
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  socklen_t length = sizeof(local);
  const bool ok = fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0;
  freeaddrinfo(found);
  if (fd >= 0) close(fd);
  if (!ok) throw Error("no route from this host to MASTER_ADDR '" + master_addr + "'");
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &local.sin_addr, text, sizeof(text));
  return text;
}

std::string pick_backend(const ProcessGroupOptions& options) {
  const std::string& name = options.backend();
  if (name != "auto" && name != "gloo" && name != "nccl") {
    throw Error("dist.backend: unknown backend '" + name + "' (auto, gloo, nccl)");
  }
#ifdef USE_C10D_NCCL
  constexpr bool kHaveNccl = true;
#else
  constexpr bool kHaveNccl = false;
#endif
  if (name == "nccl" && !kHaveNccl) {
    throw Error("dist.backend: nccl is not built into this LibTorch (use gloo)");
  }
  if (name == "nccl" && !options.cuda()) {
    throw Error("dist.backend: nccl reduces CUDA tensors only, and this run is on the CPU");
  }
  if (name == "auto") return kHaveNccl && options.cuda() ? "nccl" : "gloo";
  return name;
}

c10::intrusive_ptr<c10d::Store> join_store(const LaunchEnv& launch, double timeout_seconds) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(launch.master_port);
  options.isServer = launch.rank == 0 && !launch.use_agent_store;
  options.numWorkers = static_cast<size_t>(launch.world_size);
  // The agent's store counts its own workers; ours waits for every rank.
  options.waitWorkers = !launch.use_agent_store;
  options.timeout = to_millis(timeout_seconds);
  const std::string where = launch.master_addr + ":" + std::to_string(launch.master_port);
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, options);
    if (!launch.use_agent_store) return store;
    return c10::make_intrusive<c10d::PrefixStore>(launch.store_prefix + "nddr", store);
  } catch (const std::exception& error) {
    const std::string detail = c10d_message(error);
    if (launch.rank == 0 && detail.find("already in use") != std::string::npos) {
      throw Error("rank 0 cannot serve the rendezvous: port " + std::to_string(launch.master_port) +
                  " (MASTER_PORT) is already in use; choose a free one");
    }
    if (options.isServer) {
      throw Error("rank 0: not all " + std::to_string(launch.world_size) +
                  " ranks joined the rendezvous at " + where + " within " +
                  seconds_text(timeout_seconds) + " (dist.timeout): " + detail);
    }
    throw Error("rank " + std::to_string(launch.rank) + " cannot reach the master at " + where +
                " (MASTER_ADDR:MASTER_PORT) within " + seconds_text(timeout_seconds) +
                " (dist.timeout): " + detail);
  }
}

c10::intrusive_ptr<compat::C10dBackend> make_backend(const std::string& name,
                                                     const c10::intrusive_ptr<c10d::Store>& store,
                                                     const LaunchEnv& launch, double timeout) {
  const int rank = static_cast<int>(launch.rank);
  const int size = static_cast<int>(launch.world_size);
#ifdef USE_C10D_NCCL
  if (name == "nccl") {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = to_millis(timeout);
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
  }
#endif
  auto options = c10d::ProcessGroupGloo::Options::create(to_millis(timeout));
  const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
  options->devices.push_back(
      interface != nullptr && *interface != '\0'
          ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
          : c10d::ProcessGroupGloo::createDeviceForHostname(
                local_address_towards(launch.master_addr, launch.master_port)));
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
}

}  // namespace

std::string c10d_message(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  std::string text = c10_error != nullptr ? c10_error->what_without_backtrace() : error.what();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

void ProcessGroup::State::check_usable(const std::string& what) const {
  if (failed) {
    throw Error("rank " + std::to_string(rank) + ": " + what +
                ": the process group already failed in an earlier operation");
  }
}

void ProcessGroup::State::wait(const c10::intrusive_ptr<c10d::Work>& work,
                               const std::string& what) {
  try {
    work->wait(to_millis(options.timeout_seconds()));
  } catch (const std::exception& error) {
    fail(what, c10d_message(error));
  }
}

void ProcessGroup::State::fail(const std::string& what, const std::string& detail) {
  failed = true;
  const std::string peers = heartbeat ? heartbeat->unresponsive_peers() : "";
  throw Error("rank " + std::to_string(rank) + ": " + what + " failed" +
              (peers.empty() ? "" : ": " + peers) + " (timeout " +
              seconds_text(options.timeout_seconds()) + ", dist.timeout; " + backend_name + ": " +
              detail + ")");
}

ProcessGroup::ProcessGroup(const LaunchEnv& launch, ProcessGroupOptions options)
    : state_(std::make_shared<State>()) {
  if (!(options.timeout_seconds() > 0)) {
    throw Error("dist.timeout must be > 0 seconds, got " + seconds_text(options.timeout_seconds()));
  }
  if (!(options.bucket_mb() > 0)) throw Error("dist.bucket_mb must be > 0");
  State& state = *state_;
  state.rank = launch.rank;
  state.world_size = launch.world_size;
  state.options = options;
  state.backend_name = pick_backend(options);
  state.store = join_store(launch, options.timeout_seconds());
  try {
    state.backend =
        make_backend(state.backend_name, state.store, launch, options.timeout_seconds());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& error) {
    throw Error("rank " + std::to_string(launch.rank) + ": connecting the " + state.backend_name +
                " group of " + std::to_string(launch.world_size) + " ranks failed within " +
                seconds_text(options.timeout_seconds()) + ": " + c10d_message(error));
  }
  const auto interval = std::clamp(to_millis(options.timeout_seconds() / 5),
                                   std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
  state.heartbeat =
      std::make_unique<Heartbeat>(launch.master_addr, launch.master_port, launch.store_prefix,
                                  launch.rank, launch.world_size, interval);
}

ProcessGroup::~ProcessGroup() {
  if (state_->failed) {
    // Deliberately leaked: see State::failed.
    state_->backend.release();
    state_->store.release();
  }
}

int64_t ProcessGroup::rank() const { return state_->rank; }
int64_t ProcessGroup::world_size() const { return state_->world_size; }
const std::string& ProcessGroup::backend_name() const { return state_->backend_name; }

void ProcessGroup::all_reduce_sum(torch::Tensor& tensor, const std::string& what) {
  state_->check_usable(what);
  std::vector<torch::Tensor> tensors{tensor};
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = state_->backend->allreduce(tensors);
  } catch (const std::exception& error) {
    state_->fail(what, c10d_message(error));
  }
  state_->wait(work, what);
}

void ProcessGroup::broadcast(torch::Tensor& tensor, int64_t root, const std::string& what) {
  state_->check_usable(what);
  std::vector<torch::Tensor> tensors{tensor};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = state_->backend->broadcast(tensors, options);
  } catch (const std::exception& error) {
    state_->fail(what, c10d_message(error));
  }
  state_->wait(work, what);
}

void ProcessGroup::barrier(const std::string& what) {
  state_->check_usable(what);
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = state_->backend->barrier();
  } catch (const std::exception& error) {
    state_->fail(what, c10d_message(error));
  }
  state_->wait(work, what);
}

std::unique_ptr<GradientSync> ProcessGroup::gradient_sync(std::vector<torch::Tensor> parameters) {
  return std::make_unique<GradientBuckets>(state_, std::move(parameters));
}

void ProcessGroup::check_identical(const std::vector<std::pair<std::string, std::string>>& items,
                                   const std::string& what) {
  State& state = *state_;
  state.check_usable(what);
  const std::string prefix = "nddr/check/" + what + "/";
  auto key_of = [&](int64_t rank) { return prefix + std::to_string(rank); };
  const std::string mine = nlohmann::json(items).dump();
  std::vector<std::pair<std::string, std::string>> reference;
  try {
    state.store->set(key_of(state.rank), std::vector<uint8_t>(mine.begin(), mine.end()));
    const auto first = state.store->get(key_of(0));
    reference = nlohmann::json::parse(std::string(first.begin(), first.end()))
                    .get<std::vector<std::pair<std::string, std::string>>>();
  } catch (const std::exception& error) {
    state.fail("comparing the " + what + " with rank 0's", c10d_message(error));
  }
  auto compare = [&](const std::vector<std::pair<std::string, std::string>>& other,
                     int64_t other_rank) {
    const std::string where = "ranks 0 and " + std::to_string(other_rank);
    for (size_t i = 0; i < std::max(reference.size(), other.size()); ++i) {
      if (i >= reference.size() || i >= other.size()) {
        throw Error("the " + what + " differs between " + where + ": different number of keys");
      }
      if (reference[i] != other[i]) {
        throw Error("the " + what + " differs between " + where + " at key '" + reference[i].first +
                    "': " + reference[i].second + " on rank 0, " +
                    (other[i].first == reference[i].first ? other[i].second
                                                          : "key '" + other[i].first + "'") +
                    " on rank " + std::to_string(other_rank));
      }
    }
  };
  if (state.rank != 0) {
    compare(nlohmann::json::parse(mine).get<std::vector<std::pair<std::string, std::string>>>(),
            state.rank);
    return;
  }
  for (int64_t peer = 1; peer < state.world_size; ++peer) {
    std::vector<uint8_t> value;
    try {
      value = state.store->get(key_of(peer));
    } catch (const std::exception& error) {
      state.fail("comparing the " + what + " with rank " + std::to_string(peer) + "'s",
                 c10d_message(error));
    }
    compare(nlohmann::json::parse(std::string(value.begin(), value.end()))
                .get<std::vector<std::pair<std::string, std::string>>>(),
            peer);
  }
}

}  // namespace nddr::dist
