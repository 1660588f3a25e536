#include "cnnkit/limits.hpp"

#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace cnnkit {
namespace {

// The variable's value, or `fallback` when it is unset or empty.
std::uint64_t read_variable(const char* name, std::uint64_t fallback) {
  const char* const text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  const std::string_view value(text);
  std::uint64_t number = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  constexpr std::uint64_t kLargest = std::uint64_t{1} << 63;
  if (error != std::errc() || end != value.data() + value.size() || number == 0 ||
      number > kLargest) {
    throw std::invalid_argument(std::string("limits: ") + name +
                                ": expected a whole number from 1 to " + std::to_string(kLargest) +
                                ", got '" + std::string(value) + "'");
  }
  return number;
}

}  // namespace

Limits Limits::from_environment() {
  Limits limits;
  limits.json_depth = read_variable("CNNKIT_MAX_JSON_DEPTH", limits.json_depth);
  limits.layers = read_variable("CNNKIT_MAX_LAYERS", limits.layers);
  limits.fan_in = read_variable("CNNKIT_MAX_FAN_IN", limits.fan_in);
  limits.parameters = read_variable("CNNKIT_MAX_PARAMETERS", limits.parameters);
  limits.activation_bytes = read_variable("CNNKIT_MAX_ACTIVATION_BYTES", limits.activation_bytes);
  limits.tensors = read_variable("CNNKIT_MAX_TENSORS", limits.tensors);
  limits.file_bytes = read_variable("CNNKIT_MAX_FILE_BYTES", limits.file_bytes);
  limits.image_pixels = read_variable("CNNKIT_MAX_IMAGE_PIXELS", limits.image_pixels);
  return limits;
}

std::string limit_hint(std::string_view variable) {
  const std::string name(variable);
  return " (limit " + name + ": raise it with the environment variable " + name + "=<n>)";
}

}  // namespace cnnkit
