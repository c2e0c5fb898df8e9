#include "nddr/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <streambuf>

#include "nddr/util/error.h"

namespace nddr {
namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string system_reason() { return std::strerror(errno); }

std::atomic<int64_t> injected_disk_capacity{-1};

// Passes writes to `target` until `capacity` bytes have gone through, then
// fails them as a full disk would (the stream sets badbit).
class CappedBuffer : public std::streambuf {
 public:
  CappedBuffer(std::streambuf* target, int64_t capacity) : target_(target), left_(capacity) {}

 protected:
  int overflow(int c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    if (left_ <= 0) return traits_type::eof();
    --left_;
    return target_->sputc(static_cast<char>(c));
  }
  std::streamsize xsputn(const char* data, std::streamsize count) override {
    const std::streamsize accepted = std::min<std::streamsize>(count, std::max<int64_t>(left_, 0));
    const std::streamsize written = target_->sputn(data, accepted);
    left_ -= written;
    return written;
  }
  int sync() override { return target_->pubsync(); }

 private:
  std::streambuf* target_;
  int64_t left_;
};

// Creates a fresh, empty file next to `path` and returns its name. O_EXCL makes
// concurrent writers (threads or processes) pick distinct names; mode 0666
// lets the umask decide the final permissions, as for a plain ofstream.
std::string create_temporary(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string candidate =
        path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
    const int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      ::close(fd);
      return candidate;
    }
    if (errno != EEXIST) {
      throw Error("cannot create a temporary file for '" + path + "' in '" + directory_of(path) +
                  "': " + system_reason());
    }
  }
  throw Error("cannot create a temporary file for '" + path + "': too many name collisions");
}

void sync_file(const std::string& path, const std::string& target) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot reopen '" + path + "' to sync: " + system_reason());
  const int result = ::fsync(fd);
  const std::string reason = system_reason();
  ::close(fd);
  if (result != 0) throw Error("cannot sync '" + target + "' to disk: " + reason);
}

// Makes the rename itself durable. Best effort: some file systems cannot fsync
// a directory, and the new content is complete and in place either way.
void sync_directory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_and_sync(const std::string& temporary, const std::string& path,
                    const std::function<void(std::ostream&)>& writer) {
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot open '" + temporary + "' for writing: " + system_reason());
    const int64_t capacity = injected_disk_capacity.load();
    if (capacity >= 0) {
      CappedBuffer capped(out.rdbuf(), capacity);
      std::ostream limited(&capped);
      writer(limited);
      if (!limited) throw Error("cannot write '" + path + "': No space left on device (injected)");
    } else {
      writer(out);
    }
    out.flush();
    if (!out) {
      throw Error("cannot write '" + path + "' (disk full or I/O error): " + system_reason());
    }
    out.close();
    if (out.fail()) throw Error("cannot close '" + path + "' after writing: " + system_reason());
  }
  sync_file(temporary, path);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    throw Error("cannot rename '" + temporary + "' to '" + path + "': " + system_reason());
  }
}

}  // namespace

void inject_disk_full_after(int64_t bytes) { injected_disk_capacity.store(bytes); }

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& writer) {
  if (path.empty() || path.back() == '/') {
    throw Error("cannot write '" + path + "': not a file name");
  }
  const std::string temporary = create_temporary(path);
  try {
    write_and_sync(temporary, path, writer);
  } catch (...) {
    std::remove(temporary.c_str());
    throw;
  }
  sync_directory(directory_of(path));
}

}  // namespace nddr
