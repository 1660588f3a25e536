#include "io/file_bytes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "check.hpp"
#include "cnnkit/limits.hpp"

namespace cnnkit::detail {
namespace {

[[noreturn]] void fail_read(const std::string& path, std::string_view component,
                            std::string_view hint, const std::string& reason) {
  throw std::runtime_error(std::string(component) + ": expected a readable file at '" + path +
                           "', got " + reason + std::string(hint));
}

[[noreturn]] void fail_read(const std::string& path, std::string_view component,
                            std::string_view hint, int error) {
  fail_read(path, component, hint, std::strerror(error));
}

}  // namespace

void fail_file_size(std::string_view component, const std::string& source, std::uint64_t limit,
                    const std::string& got) {
  fail(std::string(component) + ": '" + source + "'",
       "at most " + std::to_string(limit) + " bytes" + limit_hint("CNNKIT_MAX_FILE_BYTES"), got);
}

std::vector<unsigned char> read_file_bytes(const std::string& path, std::string_view component,
                                           std::uint64_t max_bytes, std::string_view hint) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_read(path, component, hint, errno);
  // The descriptor is closed on every path out, exceptions included.
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } const closer{fd};

  struct stat status {};
  if (::fstat(fd, &status) != 0) fail_read(path, component, hint, errno);
  if (S_ISDIR(status.st_mode)) fail_read(path, component, hint, EISDIR);
  if (S_ISCHR(status.st_mode) || S_ISBLK(status.st_mode)) {
    fail_read(path, component, hint, "a device, not a regular file or a pipe");
  }
  const auto size = static_cast<std::uint64_t>(std::max<off_t>(status.st_size, 0));
  if (S_ISREG(status.st_mode) && size > max_bytes) {
    fail_file_size(component, path, max_bytes, "a file of " + std::to_string(size) + " bytes");
  }

  // The size is only a hint (the file may change or be a pipe): read until end of file, and never
  // more than the limit.
  std::vector<unsigned char> bytes;
  bytes.reserve(static_cast<std::size_t>(std::min(size, max_bytes)));
  unsigned char chunk[1 << 16];
  for (;;) {
    const ssize_t count = ::read(fd, chunk, sizeof chunk);
    if (count < 0) {
      if (errno == EINTR) continue;
      fail_read(path, component, hint, errno);
    }
    if (count == 0) break;
    if (static_cast<std::uint64_t>(count) > max_bytes - bytes.size()) {
      fail_file_size(component, path, max_bytes, "more (the file grew or is a pipe)");
    }
    bytes.insert(bytes.end(), chunk, chunk + count);
  }
  return bytes;
}

}  // namespace cnnkit::detail
