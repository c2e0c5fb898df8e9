#include "nddr/dist/spawn.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "nddr/util/error.h"

extern char** environ;

namespace nddr::dist {

namespace {

constexpr auto kGracePeriod = std::chrono::seconds(5);

// The signal handler reads these: plain arrays, no allocation.
constexpr int kMaxRanks = 1024;
pid_t g_children[kMaxRanks];
volatile sig_atomic_t g_child_count = 0;
volatile sig_atomic_t g_signal = 0;

void forward_signal(int signal) {
  g_signal = signal;
  for (sig_atomic_t i = 0; i < g_child_count; ++i) {
    if (g_children[i] > 0) kill(g_children[i], signal);
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "stopped";
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::vector<std::string> rank_environment(int64_t rank, int64_t nproc, int64_t port) {
  const std::vector<std::string> ours = {
      "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"};
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const std::string name = text.substr(0, text.find('='));
    if (std::find(ours.begin(), ours.end(), name) == ours.end()) env.push_back(text);
  }
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=" + std::to_string(nproc));
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
  env.push_back("MASTER_ADDR=127.0.0.1");
  env.push_back("MASTER_PORT=" + std::to_string(port));
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& text : strings) result.push_back(text.data());
  result.push_back(nullptr);
  return result;
}

// Polls until every child in `running` has exited or `deadline` passes.
void reap_until(std::vector<pid_t>& running, std::chrono::steady_clock::time_point deadline) {
  while (!running.empty() && std::chrono::steady_clock::now() < deadline) {
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      it = waitpid(*it, &status, WNOHANG) == *it ? running.erase(it) : it + 1;
    }
    if (!running.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

int64_t free_local_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  if (!ok) throw Error(std::string("cannot find a free port: ") + std::strerror(errno));
  return ntohs(address.sin_port);
}

SpawnOutcome spawn_local_ranks(const std::vector<std::string>& argv, int64_t nproc) {
  if (nproc < 1 || nproc > kMaxRanks) {
    throw Error("--nproc must be in [1, " + std::to_string(kMaxRanks) + "], got " +
                std::to_string(nproc));
  }
  if (argv.empty()) throw Error("spawn: empty command");
  const int64_t port = free_local_port();

  struct sigaction forward {};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  struct sigaction previous[3];
  const int signals[3] = {SIGINT, SIGTERM, SIGHUP};
  g_signal = 0;
  g_child_count = 0;
  for (int i = 0; i < 3; ++i) sigaction(signals[i], &forward, &previous[i]);

  std::vector<pid_t> running;
  std::string start_error;
  for (int64_t rank = 0; rank < nproc; ++rank) {
    std::vector<std::string> args = argv;
    std::vector<std::string> env = rank_environment(rank, nproc, port);
    auto arg_pointers = pointers(args);
    auto env_pointers = pointers(env);
    const pid_t pid = fork();
    if (pid == 0) {
      // Ctrl-C reaches the children through the parent only, once each.
      setpgid(0, 0);
      // A rank must not outlive a parent killed without a chance to forward.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      for (int i = 0; i < 3; ++i) sigaction(signals[i], &previous[i], nullptr);
      execve(arg_pointers[0], arg_pointers.data(), env_pointers.data());
      _exit(127);
    }
    if (pid < 0) {
      start_error =
          std::string("cannot start rank ") + std::to_string(rank) + ": " + std::strerror(errno);
      break;
    }
    g_children[g_child_count] = pid;
    g_child_count = g_child_count + 1;
    running.push_back(pid);
  }

  SpawnOutcome outcome;
  if (!start_error.empty()) {
    outcome.exit_code = 1;
    outcome.failure = start_error;
  }
  while (!running.empty() && outcome.failure.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    const auto it = std::find(running.begin(), running.end(), pid);
    if (it == running.end()) continue;
    running.erase(it);
    if (status != 0) {
      int64_t failed_rank = 0;
      for (sig_atomic_t i = 0; i < g_child_count; ++i) {
        if (g_children[i] == pid) failed_rank = i;
      }
      outcome.exit_code = exit_code_of(status);
      outcome.failure = "rank " + std::to_string(failed_rank) + " (pid " + std::to_string(pid) +
                        ") " + describe_status(status);
    }
  }
  if (!running.empty()) {
    for (pid_t pid : running) kill(pid, SIGTERM);
    reap_until(running, std::chrono::steady_clock::now() + kGracePeriod);
    for (pid_t pid : running) kill(pid, SIGKILL);
    reap_until(running, std::chrono::steady_clock::time_point::max());
  }
  if (g_signal != 0) {
    outcome.exit_code = 128 + g_signal;
    outcome.failure =
        std::string("stopped by signal ") + strsignal(g_signal) + ", forwarded to every rank";
  }
  g_child_count = 0;
  for (int i = 0; i < 3; ++i) sigaction(signals[i], &previous[i], nullptr);
  return outcome;
}

}  // namespace nddr::dist
