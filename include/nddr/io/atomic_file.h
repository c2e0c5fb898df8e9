#pragma once
// Files the project writes (weights, checkpoints, arrays, images) must never be
// left half-written by a crash or a full disk: they are written to a temporary
// file beside the target, flushed to disk, then renamed over it.

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace nddr {

/// Calls `writer` on a binary stream to a temporary file in the directory of
/// `path`, flushes and fsyncs it, then renames it to `path`. If `writer`
/// throws or any step fails, the temporary file is removed, `path` keeps its
/// old content (or stays absent), and the exception propagates; I/O failures
/// are nddr::Error naming the file.
///
///   write_file_atomically("run/log.txt", [&](std::ostream& out) { out << text; });
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& writer);

/// Fault injection for tests: every later write_file_atomically fails like a
/// full disk once `bytes` bytes of a file have been written; a negative value
/// turns this off again.
void inject_disk_full_after(int64_t bytes);

}  // namespace nddr
