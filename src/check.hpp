// Argument checks shared by every layer, loss and optimizer. Each message names the component,
// what it expected and what came: "Conv: expected input of rank 3 or 4, got [2, 3]".
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cnnkit/tensor.hpp"

namespace cnnkit::detail {

// A number as a message shows it: "1e-08", "0.9" (std::to_string would print 1e-8 as 0.000000).
template <typename T>
std::string format_number(T value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Numbers as a message shows them, between separators: "0.5, -1" or "0.5:-1".
inline std::string format_numbers(const std::vector<double>& values, std::string_view separator) {
  std::string text;
  for (const double value : values) {
    if (!text.empty()) text += separator;
    text += format_number(value);
  }
  return text;
}

[[noreturn]] inline void fail(std::string_view component, std::string_view expected,
                              std::string_view got) {
  throw std::invalid_argument(std::string(component) + ": expected " + std::string(expected) +
                              ", got " + std::string(got));
}

inline void require(bool condition, std::string_view component, std::string_view expected,
                    std::string_view got) {
  if (!condition) fail(component, expected, got);
}

// The same with a shape for what came, printed only if the check fails: the checks of every
// forward() and backward() then build no string (and allocate nothing) when they pass.
inline void require(bool condition, std::string_view component, std::string_view expected,
                    const Shape& got) {
  if (!condition) fail(component, expected, to_string(got));
}

// The tensor must have exactly this shape.
inline void require_shape(const Shape& actual, const Shape& expected, std::string_view component,
                          std::string_view what) {
  if (actual != expected) {
    fail(component, std::string(what) + " of shape " + to_string(expected), to_string(actual));
  }
}

// backward() needs the input that forward() saw.
inline void require_forward_done(bool done, std::string_view component) {
  if (!done) {
    throw std::logic_error(std::string(component) +
                           ": expected forward() before backward(), got backward() first");
  }
}

}  // namespace cnnkit::detail
