#include "number_options.hpp"

#include <charconv>
#include <cmath>
#include <string>

#include "cnnkit/threading.hpp"

namespace cnnkit::cli {

CLI::Validator whole_number(std::uint64_t lowest, std::uint64_t highest) {
  const std::string range = std::to_string(lowest) + " to " + std::to_string(highest);
  return CLI::Validator(
      [lowest, highest, range](std::string& text) -> std::string {
        std::uint64_t number = 0;
        const char* const end = text.data() + text.size();
        // from_chars takes decimal digits only: no sign, no space, no 0x prefix.
        const auto [stop, error] = std::from_chars(text.data(), end, number);
        if (text.empty() || error != std::errc{} || stop != end || number < lowest ||
            number > highest) {
          return "expected a whole number from " + range + ", got '" + text + "'";
        }
        return {};
      },
      "[" + std::to_string(lowest) + ", " + std::to_string(highest) + "]");
}

namespace {

// A finite number above `lowest` (or from it, when inclusive).
CLI::Validator finite_number_from(double lowest, bool inclusive, const std::string& description) {
  return CLI::Validator(
      [lowest, inclusive, description](std::string& text) -> std::string {
        double number = 0.0;
        const char* const end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, number);
        if (text.empty() || error != std::errc{} || stop != end || !std::isfinite(number) ||
            number < lowest || (!inclusive && number == lowest)) {
          return "expected a finite number " + description + ", got '" + text + "'";
        }
        return {};
      },
      inclusive ? ">= 0" : "> 0");
}

}  // namespace

CLI::Validator positive_finite_number() {
  return finite_number_from(0.0, false, "above 0");
}

CLI::Validator non_negative_finite_number() {
  return finite_number_from(0.0, true, ">= 0");
}

CLI::Validator thread_count() {
  return whole_number(0, kMaxThreads);
}

}  // namespace cnnkit::cli
