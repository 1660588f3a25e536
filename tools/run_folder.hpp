// The run folder of `cnnkit train`: where it is by default, and the claim one run holds on it.
//
// A run claims its folder before it reads or writes anything there: it creates the folder, checks
// that a file can be created in it (a read-only --out fails now, not after the first epoch), takes
// an advisory lock (flock on "<folder>/.lock", which holds the pid of the run) and then removes the
// temporary files a killed run left behind (safe only now: no other run is writing). The kernel
// drops the lock when the process ends, however it ends, so a killed run never leaves the folder
// locked.
#pragma once

#include <string>

namespace cnnkit::cli {

// "runs/<name>", the name made one harmless file name: every byte other than a letter, a digit,
// '-', '_' or '.' becomes '_', leading dots become '_' (no "..", no hidden folder), at most 100
// bytes, and "model" for an empty name. So a model named "../../x" or "/abs/path" still trains
// into a folder inside runs/.
std::string default_run_folder(const std::string& model_name);

class RunFolder {
 public:
  // Claims `path` for this process (see above). Throws std::runtime_error naming the folder when
  // it cannot be created or written, or when another process holds it: "... folder in use by pid
  // N".
  explicit RunFolder(std::string path);
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;
  ~RunFolder();  // releases the lock (the .lock file stays: removing it would race a new run)

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int lock_fd_ = -1;
};

}  // namespace cnnkit::cli
