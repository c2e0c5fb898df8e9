#include "nddr/util/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nddr/util/error.h"

namespace nddr {

RunLock::RunLock(const std::string& dir) {
  const std::string path = dir + "/.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    throw Error("cannot create lock file '" + path + "': " + std::strerror(errno));
  }
  // flock locks belong to the open file: they vanish when the process dies,
  // so a killed run never leaves a stale lock behind.
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int reason = errno;
    ::close(fd_);
    if (reason == EWOULDBLOCK) {
      throw Error("run directory '" + dir + "' is in use by another nddr process (lock '" + path +
                  "'); wait for it to finish or choose another name");
    }
    throw Error("cannot lock '" + path + "': " + std::strerror(reason));
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace nddr
