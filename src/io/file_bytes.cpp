#include "io/file_bytes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cnnkit::detail {
namespace {

[[noreturn]] void fail_read(const std::string& path, std::string_view component,
                            std::string_view hint, int error) {
  throw std::runtime_error(std::string(component) + ": expected a readable file at '" + path +
                           "', got " + std::strerror(error) + std::string(hint));
}

}  // namespace

std::vector<unsigned char> read_file_bytes(const std::string& path, std::string_view component,
                                           std::string_view hint) {
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

  // The size is only a hint (the file may change or be a pipe): read until end of file.
  std::vector<unsigned char> bytes;
  bytes.reserve(status.st_size > 0 ? static_cast<std::size_t>(status.st_size) : 0);
  unsigned char chunk[1 << 16];
  for (;;) {
    const ssize_t count = ::read(fd, chunk, sizeof chunk);
    if (count < 0) {
      if (errno == EINTR) continue;
      fail_read(path, component, hint, errno);
    }
    if (count == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + count);
  }
  return bytes;
}

}  // namespace cnnkit::detail
