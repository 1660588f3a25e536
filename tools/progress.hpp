// What `cnnkit train` prints while it works. On a terminal: one bar per epoch, redrawn in place
// (images/s, running loss, ETA). Piped into a file: a plain line at most every 10 seconds. Either
// way, one line per finished epoch.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>

#include "cnnkit/model/trainer.hpp"

namespace cnnkit::cli {

bool stdout_is_terminal();

// The value with this many decimals, "n/a" for NaN.
std::string fixed(double value, int decimals);

class ProgressDisplay {
 public:
  ProgressDisplay(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

  void batch(const BatchProgress& progress);
  // Clears the bar and prints the epoch's line.
  void epoch_done(const EpochMetrics& metrics, std::size_t epochs);
  // Clears the bar (before a message about an interruption or an error).
  void clear();

 private:
  std::ostream& out_;
  bool terminal_;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point last_shown_{};
};

}  // namespace cnnkit::cli
