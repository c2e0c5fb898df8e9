#pragma once
// The project's exception type for user errors (bad config, bad file, bad value).
// The library never prints or exits: it throws, and only the CLI's main turns
// the message into output and an exit code.

#include <stdexcept>
#include <string>

namespace nddr {

/// A user-facing error; the message names the file, key or value at fault.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace nddr
