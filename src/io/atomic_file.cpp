// write_file_atomically: temporary file + fsync + rename (POSIX), the classic recipe for a file
// that is either old or new but never torn.
#include "cnnkit/io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string_view>

namespace cnnkit {
namespace {

[[noreturn]] void fail_write(const std::string& path, std::string_view step, int error) {
  throw std::runtime_error("write_file_atomically: expected to " + std::string(step) + " for '" +
                           path + "', got " + std::strerror(error));
}

// Owns the temporary file: closes its descriptor and, unless released after the rename, unlinks
// it, so every early exit (exception included) cleans up.
class TemporaryFile {
 public:
  // open(O_CREAT | O_EXCL) with mode 0666 (the umask applies, as for any new file; mkstemp would
  // force 0600) under a random suffix, retried while the name is taken.
  explicit TemporaryFile(const std::string& target) {
    constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device entropy;
    std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
    for (int attempt = 0; attempt < 100; ++attempt) {
      name_ = target + ".tmp-";
      for (int i = 0; i < 6; ++i) name_ += kAlphabet[pick(entropy)];
      fd_ = ::open(name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) return;
      if (errno != EEXIST) break;
    }
    const int error = errno;
    released_ = true;  // nothing was created, nothing to remove
    fail_write(target, "create a temporary file beside it", error);
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!released_) ::unlink(name_.c_str());
  }

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  // close() reports write-back errors on some file systems, so its result matters.
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }
  void release() { released_ = true; }

 private:
  std::string name_;
  int fd_ = -1;
  bool released_ = false;
};

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  TemporaryFile temporary(path);
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t result = ::write(temporary.fd(), bytes.data() + written, bytes.size() - written);
    if (result < 0) {
      if (errno == EINTR) continue;
      fail_write(path, "write " + std::to_string(bytes.size()) + " bytes", errno);
    }
    written += static_cast<std::size_t>(result);
  }
  // The data must be on disk before the rename makes it visible, else a crash could leave the
  // new name pointing at an empty file.
  if (::fsync(temporary.fd()) != 0) fail_write(path, "flush the data to disk", errno);
  if (temporary.close() != 0) fail_write(path, "close the temporary file", errno);
  if (std::rename(temporary.name().c_str(), path.c_str()) != 0) {
    fail_write(path, "rename '" + temporary.name() + "' over it", errno);
  }
  temporary.release();

  // Persist the rename itself (the directory entry); failure here cannot undo the write, and
  // some file systems refuse fsync on directories, so it is best effort.
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string directory = parent.empty() ? "." : parent.string();
  const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (directory_fd >= 0) {
    ::fsync(directory_fd);
    ::close(directory_fd);
  }
}

}  // namespace cnnkit
