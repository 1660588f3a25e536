// What cnnkit_bench prints and how it times: one JSON object per line (the field names of
// ../shared/bench/torch_ref.py), log lines on stderr, wall-clock seconds and the peak resident
// memory so far.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>

namespace cnnkit::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

inline double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

inline double rounded(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

// One JSON object per line, fields in the order given.
class Json {
 public:
  Json& add(const char* key, const std::string& value) {
    std::string quoted(1, '"');
    quoted.append(value).push_back('"');
    return raw(key, quoted);
  }
  Json& add(const char* key, const char* value) { return add(key, std::string(value)); }
  Json& add(const char* key, double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%.10g", value);
    return raw(key, text);
  }
  Json& add(const char* key, std::size_t value) { return raw(key, std::to_string(value)); }
  Json& add(const char* key, bool value) { return raw(key, value ? "true" : "false"); }
  void print() const {
    std::printf("{%s}\n", body_.c_str());
    std::fflush(stdout);
  }

 private:
  Json& raw(const char* key, const std::string& value) {
    if (!body_.empty()) body_.append(", ");
    body_.append("\"").append(key).append("\": ").append(value);
    return *this;
  }
  std::string body_;
};

inline void log(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
}

}  // namespace cnnkit::bench
