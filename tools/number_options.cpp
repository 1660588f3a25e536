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

// A decimal number (from_chars: no sign but '-', no space, no hex) for which `fits` holds.
template <typename Fits>
CLI::Validator decimal_number(Fits fits, const std::string& expected, const std::string& range) {
  return CLI::Validator(
      [fits, expected](std::string& text) -> std::string {
        double number = 0.0;
        const char* const end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, number);
        if (text.empty() || error != std::errc{} || stop != end || !std::isfinite(number) ||
            !fits(number)) {
          return "expected " + expected + ", got '" + text + "'";
        }
        return {};
      },
      range);
}

}  // namespace

CLI::Validator positive_finite_number() {
  return decimal_number([](double number) { return number > 0.0; }, "a finite number above 0",
                        "> 0");
}

CLI::Validator non_negative_finite_number() {
  return decimal_number([](double number) { return number >= 0.0; }, "a finite number >= 0",
                        ">= 0");
}

CLI::Validator open_unit_fraction() {
  return decimal_number([](double number) { return number > 0.0 && number < 1.0; },
                        "a fraction between 0 and 1 (both excluded)", "(0, 1)");
}

CLI::Validator thread_count() {
  return whole_number(0, kMaxThreads);
}

}  // namespace cnnkit::cli
