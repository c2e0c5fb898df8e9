#include "nddr/io/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "nddr/util/error.h"
#include "support/temp_dir.h"

namespace nddr {
namespace {

using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

TEST(AtomicFile, WritesContentAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  write_file_atomically(path, [](std::ostream& out) { out << "hello" << '\0' << "world"; });
  EXPECT_EQ(read_bytes(path), std::string("hello\0world", 11));
  EXPECT_EQ(dir.entries(), 1u);
}

TEST(AtomicFile, ReplacesExistingFile) {
  TempDir dir;
  const std::string path = dir.file("out.txt");
  write_bytes(path, "old content that is longer");
  write_file_atomically(path, [](std::ostream& out) { out << "new"; });
  EXPECT_EQ(read_bytes(path), "new");
  EXPECT_EQ(dir.entries(), 1u);
}

TEST(AtomicFile, ThrowingWriterKeepsOldFileAndRemovesTemporary) {
  TempDir dir;
  const std::string path = dir.file("out.txt");
  write_bytes(path, "old");
  EXPECT_THROW(write_file_atomically(path,
                                     [](std::ostream& out) {
                                       out << "partial";
                                       throw std::runtime_error("writer failed");
                                     }),
               std::runtime_error);
  EXPECT_EQ(read_bytes(path), "old");
  EXPECT_EQ(dir.entries(), 1u);
}

TEST(AtomicFile, ThrowingWriterCreatesNothing) {
  TempDir dir;
  const std::string path = dir.file("never.txt");
  EXPECT_THROW(write_file_atomically(path, [](std::ostream&) { throw Error("stop"); }), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(dir.entries(), 0u);
}

TEST(AtomicFile, MissingDirectoryIsErrorNamingPath) {
  TempDir dir;
  const std::string path = dir.file("no_such_dir/out.txt");
  try {
    write_file_atomically(path, [](std::ostream& out) { out << "x"; });
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
  }
}

TEST(AtomicFile, InjectedFullDiskKeepsOldFileAndRemovesTemporary) {
  TempDir dir;
  const std::string path = dir.file("out.txt");
  write_bytes(path, "old");
  inject_disk_full_after(4);
  EXPECT_THROW(write_file_atomically(path, [](std::ostream& out) { out << "longer text"; }), Error);
  inject_disk_full_after(-1);
  EXPECT_EQ(read_bytes(path), "old");
  EXPECT_EQ(dir.entries(), 1u);
  write_file_atomically(path, [](std::ostream& out) { out << "longer text"; });
  EXPECT_EQ(read_bytes(path), "longer text");
}

}  // namespace
}  // namespace nddr
