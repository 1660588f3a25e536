// What the model description tests share: a description around some layers, the message a bad one
// gives, and a table of bad descriptions with the part of the message each must give.
#pragma once

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/model/model_description.hpp"

namespace cnnkit::testing {

// The message parse_model_description throws for `json` (source "net.json"), or "" if it accepts
// it.
inline std::string parse_error(const std::string& json) {
  try {
    parse_model_description(json, "net.json");
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

// A description named "t" of these layers on this input shape.
inline std::string with_layers(const std::string& layers, const std::string& input = "[1, 8, 8]") {
  return R"({"name": "t", "input_shape": )" + input + R"(, "layers": [)" + layers + "]}";
}

struct BadCase {
  const char* what;
  std::string json;
  std::string message;  // expected part of the message
};

// Each case's message contains its expected part.
inline void expect_messages(const std::vector<BadCase>& cases) {
  for (const BadCase& bad : cases) {
    const std::string message = parse_error(bad.json);
    EXPECT_NE(message.find(bad.message), std::string::npos)
        << bad.what << "\n  expected to contain: " << bad.message << "\n  got: " << message;
  }
}

}  // namespace cnnkit::testing
