#include "progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

namespace cnnkit::cli {

namespace {

// "1:05" or "1:02:05".
std::string clock_time(double seconds) {
  const long total = std::lround(std::max(0.0, seconds));
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  }
  return text;
}

}  // namespace

std::string fixed(double value, int decimals) {
  if (std::isnan(value)) return "n/a";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

bool stdout_is_terminal() {
  return ::isatty(STDOUT_FILENO) == 1;
}

void ProgressDisplay::batch(const BatchProgress& p) {
  const auto now = std::chrono::steady_clock::now();
  const bool last = p.batch == p.batches;
  const auto interval = terminal_ ? std::chrono::milliseconds(100) : std::chrono::seconds(10);
  if (last_shown_ == std::chrono::steady_clock::time_point{}) last_shown_ = now;
  if (now - last_shown_ < interval && !(terminal_ && last)) return;
  last_shown_ = now;

  const double rate = p.seconds > 0 ? static_cast<double>(p.samples) / p.seconds : 0.0;
  const double eta = rate > 0 ? static_cast<double>(p.samples_per_epoch - p.samples) / rate : 0.0;
  const std::string figures = std::to_string(p.batch) + "/" + std::to_string(p.batches) + "  " +
                              fixed(rate, 0) + " img/s  loss " + fixed(p.running_loss, 4) +
                              "  ETA " + clock_time(eta);
  const std::string epoch = "epoch " + std::to_string(p.epoch) + "/" + std::to_string(p.epochs);
  if (terminal_) {
    constexpr std::size_t kWidth = 30;
    const std::size_t filled = p.batches == 0 ? 0 : kWidth * p.batch / p.batches;
    out_ << "\r\033[K" << epoch << " [" << std::string(filled, '#')
         << std::string(kWidth - filled, '.') << "] " << figures << std::flush;
    bar_shown_ = true;
  } else {
    out_ << epoch << ": batch " << figures << std::endl;
  }
}

void ProgressDisplay::clear() {
  if (bar_shown_) out_ << "\r\033[K" << std::flush;
  bar_shown_ = false;
}

void ProgressDisplay::epoch_done(const EpochMetrics& m, std::size_t epochs) {
  clear();
  last_shown_ = {};
  out_ << "epoch " << m.epoch << "/" << epochs << ": train loss " << fixed(m.train_loss, 4)
       << ", train accuracy " << fixed(m.train_accuracy, 4);
  if (!std::isnan(m.validation_loss)) {
    out_ << ", validation loss " << fixed(m.validation_loss, 4) << ", validation accuracy "
         << fixed(m.validation_accuracy, 4);
  }
  out_ << ", test loss " << fixed(m.test_loss, 4) << ", test accuracy " << fixed(m.test_accuracy, 4)
       << ", " << fixed(m.seconds, m.seconds < 10 ? 2 : 1) << " s" << std::endl;
}

}  // namespace cnnkit::cli
