#include "nddr/train/stop_signal.h"

#include <unistd.h>

#include <csignal>

namespace nddr {

namespace {

volatile std::sig_atomic_t requested = 0;

// Async-signal-safe: records the signal, or exits at once on the second.
void on_stop_signal(int signal) {
  if (requested != 0) _exit(128 + signal);
  requested = signal;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stop_requested() { return requested; }

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

void clear_stop_request() { requested = 0; }

}  // namespace nddr
