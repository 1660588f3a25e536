// Small assertions shared by the layer and loss tests.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <exception>
#include <initializer_list>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <typeinfo>

#include "cnnkit/layer.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit::testing {

// Element-wise comparison with a tolerance; reports the first differing index.
template <typename T>
void expect_tensor_near(const Tensor<T>& actual, const Tensor<T>& expected, double tolerance) {
  ASSERT_EQ(actual.shape(), expected.shape())
      << to_string(actual.shape()) << " vs " << to_string(expected.shape());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], tolerance) << "at flat index " << i;
  }
}

// 0, 1, 2, ... in row-major order.
inline Tensor<double> ramp(const Shape& shape) {
  Tensor<double> tensor(shape);
  std::iota(tensor.begin(), tensor.end(), 0.0);
  return tensor;
}

// Uniform in [low, high), reproducible from the seed.
inline Tensor<double> random_tensor(const Shape& shape, double low, double high, unsigned seed) {
  Tensor<double> tensor(shape);
  std::mt19937 engine(seed);
  std::uniform_real_distribution<double> uniform(low, high);
  for (double& v : tensor) v = uniform(engine);
  return tensor;
}

// The values of a double tensor in T (random_tensor's values for a float test).
template <typename T>
Tensor<T> cast_tensor(const Tensor<double>& values) {
  Tensor<T> out(values.shape());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = static_cast<T>(values[i]);
  return out;
}

// The fraction of zeros in a tensor: a ReLU must have cut a real share for a test of it to mean
// anything.
template <typename T>
double zero_share(const Tensor<T>& tensor) {
  std::size_t zeros = 0;
  for (const T value : tensor) zeros += value == T(0) ? 1 : 0;
  return static_cast<double>(zeros) / static_cast<double>(tensor.size());
}

// One-hot labels of three samples, classes 1, 2 and 0: the target of a classifier's gradient check.
inline Tensor<double> three_labels() {
  Tensor<double> label({3, 3});
  label(0, 1) = 1;
  label(1, 2) = 1;
  label(2, 0) = 1;
  return label;
}

// One layer of a table-driven test: its name, how to build it, an input shape it takes.
struct LayerCase {
  const char* name;
  std::unique_ptr<Layer<float>> (*make)();
  Shape input_shape;
};

// Shapes and every value equal to the bit; reports the first differing index.
template <typename T>
void expect_bitwise_equal(const Tensor<T>& actual, const Tensor<T>& expected) {
  ASSERT_EQ(actual.shape(), expected.shape())
      << to_string(actual.shape()) << " vs " << to_string(expected.shape());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    ASSERT_EQ(actual[i], expected[i]) << "at flat index " << i;
  }
}

// `call` must throw exactly Exception (std::invalid_argument derives from std::logic_error, so
// the dynamic type is compared) with a message containing every one of `parts` (the
// component's name, the offending shape, ...).
template <typename Exception, typename Call>
void expect_throw_with(Call&& call, std::initializer_list<std::string> parts) {
  try {
    call();
    ADD_FAILURE() << "expected an exception";
  } catch (const Exception& e) {
    EXPECT_TRUE(typeid(e) == typeid(Exception)) << "threw " << typeid(e).name();
    const std::string message = e.what();
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos)
          << "message \"" << message << "\" lacks \"" << part << "\"";
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw another exception type: " << e.what();
  }
}

// The message of the exception `call` throws, which must be of type `Exception` ("" and a test
// failure if it throws none).
template <typename Exception, typename Call>
std::string message_of(Call&& call) {
  try {
    call();
  } catch (const Exception& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

}  // namespace cnnkit::testing
