#pragma once
// Ctrl-C and kill: SIGINT or SIGTERM asks training to stop at the next step
// boundary, where the trainer writes a checkpoint and returns; a second one
// ends the process at once. Only a program that calls install_stop_handlers
// (the CLI) changes how the process reacts to these signals.

#include <string>

namespace nddr {

/// Installs the SIGINT and SIGTERM handlers. The first signal is recorded
/// for stop_requested(); a second ends the process with 128 + its number.
void install_stop_handlers();

/// 0, or the number of the signal that asked training to stop.
int stop_requested();

/// "SIGINT", "SIGTERM", or "signal N".
std::string signal_name(int signal);

/// Forgets a recorded signal (tests; a program that handled one).
void clear_stop_request();

}  // namespace nddr
