// Reading the PyTorch reference files of tests/data/oracle (written by scripts/torch_oracle.py and
// scripts/torch_optimizer_oracle.py) and comparing against them.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "cnnkit/tensor.hpp"

namespace cnnkit::test {

inline nlohmann::json load_oracle(const std::string& name) {
  const std::string path = std::string(CNNKIT_TEST_DATA_DIR) + "/oracle/" + name + ".json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("oracle test: expected a readable " + path + ", got none");
  return nlohmann::json::parse(in);
}

template <typename T>
Tensor<T> tensor_from(const nlohmann::json& value) {
  Shape shape;
  for (const nlohmann::json& extent : value.at("shape")) shape.push_back(extent.get<std::size_t>());
  Tensor<T> tensor(shape);
  const nlohmann::json& data = value.at("data");
  if (data.size() != tensor.size()) throw std::runtime_error("oracle test: data size mismatch");
  for (std::size_t i = 0; i < tensor.size(); ++i) {
    tensor[i] = static_cast<T>(data[i].get<double>());
  }
  return tensor;
}

// |a - b| <= tolerance (|b| + rms(b)) for every element, b the reference and rms(b) over the
// whole tensor; reports the worst three.
template <typename T>
void expect_close(const Tensor<T>& actual, const nlohmann::json& expected_json,
                  const std::string& what, double tolerance) {
  const Tensor<double> expected = tensor_from<double>(expected_json);
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  double square_sum = 0;
  for (const double b : expected) square_sum += b * b;
  const double rms = expected.size() == 0 ? 0.0 : std::sqrt(square_sum / double(expected.size()));
  std::size_t failures = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double a = static_cast<double>(actual[i]);
    const double b = expected[i];
    if (!(std::abs(a - b) <= tolerance * (std::abs(b) + rms))) {
      if (++failures <= 3) {
        ADD_FAILURE() << what << " at flat index " << i << ": cnnkit " << a << ", reference " << b
                      << " (|a - b| = " << std::abs(a - b) << ", allowed "
                      << tolerance * (std::abs(b) + rms) << ")";
      }
    }
  }
  EXPECT_EQ(failures, 0u) << what;
}

}  // namespace cnnkit::test
