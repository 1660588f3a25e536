#include "run_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace cnnkit::cli {

namespace {

namespace fs = std::filesystem;

// The files a run writes, each through a temporary file "<name>.tmp-XXXXXX" beside it
// (cnnkit/io/atomic_file.hpp; "<name>.tmp" is the fixed name of earlier versions), and the probe
// of require_writable.
constexpr std::array<std::string_view, 7> kWrittenFiles{
    "model.safetensors", "checkpoint.safetensors", "metrics.csv",
    "curves.png",        "confusion.png",          "samples.png",
    ".write-test"};

[[noreturn]] void fail(const std::string& path, std::string_view expected, std::string_view got) {
  throw std::runtime_error("--out: expected " + std::string(expected) + ", got '" + path + "'" +
                           std::string(got));
}

// A file can be created in the folder: checked by creating one, since permission bits say nothing
// for root, a read-only mount or an ACL.
void require_writable(const std::string& path) {
  const std::string probe =
      (fs::path(path) / (".write-test.tmp-" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    fail(path, "a writable folder",
         " (cannot create a file in it: " + std::string(std::strerror(errno)) + ")");
  }
  ::close(fd);
  ::unlink(probe.c_str());
}

// The pid a running holder wrote into the lock file; empty if it has not written it yet.
std::string holder_pid(int fd) {
  char text[32] = {};
  const ssize_t length = ::pread(fd, text, sizeof text - 1, 0);
  std::string pid(text, length > 0 ? static_cast<std::size_t>(length) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid;
}

bool is_stale_temporary(const std::string& name) {
  for (const std::string_view file : kWrittenFiles) {
    const std::string stem = std::string(file) + ".tmp";
    if (name == stem || name.rfind(stem + "-", 0) == 0) return true;
  }
  return false;
}

// Temporary files of a run that was killed mid-write: only this run writes the folder now, so
// none of them belongs to a write in progress.
void remove_stale_temporaries(const std::string& path) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(path, error)) {
    if (entry.is_regular_file(error) && is_stale_temporary(entry.path().filename().string())) {
      fs::remove(entry.path(), error);
    }
  }
}

bool is_name_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

}  // namespace

std::string default_run_folder(const std::string& model_name) {
  constexpr std::size_t kMaxLength = 100;
  std::string name = model_name.substr(0, kMaxLength);
  for (char& c : name) {
    if (!is_name_byte(c)) c = '_';
  }
  for (char& c : name) {
    if (c != '.') break;
    c = '_';
  }
  if (name.empty()) name = "model";
  return (fs::path("runs") / name).string();
}

RunFolder::RunFolder(std::string path) : path_(std::move(path)) {
  std::error_code error;
  fs::create_directories(path_, error);
  if (error) fail(path_, "a folder cnnkit can create", " (" + error.message() + ")");
  require_writable(path_);

  const std::string lock_path = (fs::path(path_) / ".lock").string();
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (lock_fd_ < 0) {
    fail(path_, "a writable folder",
         " (cannot open " + lock_path + ": " + std::string(std::strerror(errno)) + ")");
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int lock_error = errno;
    const std::string pid = holder_pid(lock_fd_);
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (lock_error == EWOULDBLOCK) {
      fail(path_, "a folder no other run is writing",
           ": folder in use by " + (pid.empty() ? std::string("another process") : "pid " + pid));
    }
    fail(path_, "a folder cnnkit can lock",
         " (flock " + lock_path + ": " + std::string(std::strerror(lock_error)) + ")");
  }
  // For the message of a second run; the lock itself is the flock, not this text.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 ||
      ::pwrite(lock_fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int write_error = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    fail(path_, "a writable folder",
         " (cannot write " + lock_path + ": " + std::string(std::strerror(write_error)) + ")");
  }
  remove_stale_temporaries(path_);
}

RunFolder::~RunFolder() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // closing the last descriptor releases the flock
}

}  // namespace cnnkit::cli
