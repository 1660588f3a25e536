#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

#include "cnnkit/io/atomic_file.hpp"
#include "layer_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::message_of;
using testing::TempDir;

std::size_t entries_in(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                                std::filesystem::directory_iterator()));
}

TEST(AtomicFile, WritesAndReplaces) {
  const TempDir dir;
  write_file_atomically(dir / "f.txt", "first");
  write_file_atomically(dir / "f.txt", std::string_view("sec\0nd", 6));
  const std::vector<unsigned char> bytes = testing::read_bytes(dir / "f.txt");
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), std::string("sec\0nd", 6));
  EXPECT_EQ(entries_in(dir.path()), 1u);
}

// A write that fails half-way (the file size limit makes write() fail with EFBIG, as a full disk
// would with ENOSPC) leaves the old file as it was and no temporary file.
TEST(AtomicFile, FailedWriteKeepsTheOldFile) {
  const TempDir dir;
  write_file_atomically(dir / "model.bin", "old contents");
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit limited = saved;
  limited.rlim_cur = 1024;
  // Without this the kernel kills the process with SIGXFSZ instead of failing the write.
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  const std::string big(4096, 'x');
  std::string message;
  try {
    write_file_atomically(dir / "model.bin", big);
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find(dir / "model.bin"), std::string::npos) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
  const std::vector<unsigned char> bytes = testing::read_bytes(dir / "model.bin");
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "old contents");
  EXPECT_EQ(entries_in(dir.path()), 1u);
}

TEST(AtomicFile, FailedRenameRemovesTheTemporaryFile) {
  const TempDir dir;
  std::filesystem::create_directories(dir.path() / "taken" / "inside");
  const std::string message =
      message_of<std::runtime_error>([&] { write_file_atomically(dir / "taken", "data"); });
  EXPECT_NE(message.find("rename"), std::string::npos) << message;
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "taken" / "inside"));
  EXPECT_EQ(entries_in(dir.path()), 1u);
}

TEST(AtomicFile, MissingDirectoryIsNamed) {
  const TempDir dir;
  const std::string message = message_of<std::runtime_error>(
      [&] { write_file_atomically(dir / "no/such/dir/file", "data"); });
  EXPECT_NE(message.find(dir / "no/such/dir/file"), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
}

}  // namespace
}  // namespace cnnkit
