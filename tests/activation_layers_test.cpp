// Sigmoid, TanH and LeakyReLU: hand-computed values, a gradient check in double, the handed-over
// forms in place, the testing phase and the bad inputs. PyTorch's values: oracle_layers_test.cpp;
// the contract: check_layer_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/layers/leaky_relu.hpp"
#include "cnnkit/layers/sigmoid.hpp"
#include "cnnkit/layers/tanh.hpp"
#include "cnnkit/loss.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::expect_tensor_near;
using testing::expect_throw_with;
using testing::random_tensor;

double gradient_error(Layer<double>& layer, const Tensor<double>& input) {
  L2Loss<double> loss;
  return gradient_check<double>({&layer}, loss, input, random_tensor(input.shape(), -1, 1, 99))
      .worst();
}

// ---- Sigmoid

TEST(Sigmoid, HandValues) {
  Sigmoid<double> sigmoid;
  // 1 / (1 + 1/3) = 3/4 at ln 3, 1/4 at -ln 3, 1/2 at 0.
  const double ln3 = std::log(3.0);
  expect_tensor_near(sigmoid.forward(Tensor<double>({1, 3}, std::vector<double>{ln3, 0, -ln3})),
                     Tensor<double>({1, 3}, std::vector<double>{0.75, 0.5, 0.25}), 1e-15);
  // y (1 - y): 3/16, 1/4, 3/16, times the errors 2, 1, -4.
  expect_tensor_near(sigmoid.backward(Tensor<double>({1, 3}, std::vector<double>{2, 1, -4})),
                     Tensor<double>({1, 3}, std::vector<double>{0.375, 0.25, -0.75}), 1e-15);
}

TEST(Sigmoid, SaturatesWithoutNaN) {
  Sigmoid<float> sigmoid;
  const Tensor<float> output =
      sigmoid.forward(Tensor<float>({1, 4}, std::vector<float>{-1000, -50, 50, 1000}));
  // exp(1000) is inf in float: 1 / (1 + inf) = 0.
  const float tiny = 1.0f / (1.0f + std::exp(50.0f));
  expect_tensor_near(output, Tensor<float>({1, 4}, std::vector<float>{0, tiny, 1, 1}), 0.0);
  const Tensor<float> input_error = sigmoid.backward(Tensor<float>({1, 4}, 1.0f));
  for (const float v : input_error) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(input_error[0], 0.0f);
  EXPECT_EQ(input_error[3], 0.0f);
}

TEST(Sigmoid, GradientCheck) {
  Sigmoid<double> sigmoid;
  EXPECT_LT(gradient_error(sigmoid, random_tensor({3, 2, 4}, -4, 4, 1)), 1e-7);
}

// ---- TanH

TEST(TanH, HandValues) {
  TanH<double> tanh;
  // tanh(ln(2) / 2) = (2 - 1) / (2 + 1) = 1/3; odd; 0 at 0.
  const double x = std::log(2.0) / 2;
  expect_tensor_near(tanh.forward(Tensor<double>({3, 1}, std::vector<double>{x, 0, -x})),
                     Tensor<double>({3, 1}, std::vector<double>{1.0 / 3, 0, -1.0 / 3}), 1e-15);
  // 1 - y^2: 8/9, 1, 8/9, times the errors 9, -2, 0.5.
  expect_tensor_near(tanh.backward(Tensor<double>({3, 1}, std::vector<double>{9, -2, 0.5})),
                     Tensor<double>({3, 1}, std::vector<double>{8, -2, 4.0 / 9}), 1e-14);
}

TEST(TanH, GradientCheck) {
  TanH<double> tanh;
  EXPECT_LT(gradient_error(tanh, random_tensor({2, 3, 2, 3}, -3, 3, 2)), 1e-7);
}

// ---- LeakyReLU

TEST(LeakyReLU, HandValues) {
  LeakyReLU<double> leaky(0.1);
  EXPECT_EQ(leaky.slope(), 0.1);
  expect_tensor_near(leaky.forward(Tensor<double>({1, 4}, std::vector<double>{-2, 0, 3, -0.5})),
                     Tensor<double>({1, 4}, std::vector<double>{-0.2, 0, 3, -0.05}), 1e-16);
  // The slope where x <= 0 (PyTorch's choice at the kink), 1 where x > 0.
  expect_tensor_near(leaky.backward(Tensor<double>({1, 4}, std::vector<double>{1, 2, 3, -4})),
                     Tensor<double>({1, 4}, std::vector<double>{0.1, 0.2, 3, -0.4}), 1e-16);
}

TEST(LeakyReLU, DefaultSlopeIsPyTorchsAndNegativeSlopesWork) {
  EXPECT_FLOAT_EQ(LeakyReLU<float>().slope(), 0.01f);
  LeakyReLU<double> negative(-0.5);
  expect_tensor_near(negative.forward(Tensor<double>({1, 2}, std::vector<double>{-2, 2})),
                     Tensor<double>({1, 2}, std::vector<double>{1, 2}), 0.0);
}

TEST(LeakyReLU, GradientCheckAwayFromTheKink) {
  // |x| >= 0.1 everywhere, far beyond the finite-difference step.
  Tensor<double> input = random_tensor({3, 2, 4}, 0.1, 1.0, 3);
  for (std::size_t i = 0; i < input.size(); i += 2) input[i] = -input[i];
  LeakyReLU<double> leaky(0.2);
  EXPECT_LT(gradient_error(leaky, input), 1e-7);
}

TEST(LeakyReLU, BadSlope) {
  for (const double slope : {std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(), -HUGE_VAL}) {
    expect_throw_with<std::invalid_argument>([&] { LeakyReLU<double>{slope}; },
                                             {"LeakyReLU", "finite slope"});
  }
}

// ---- All three

template <typename T>
class Activations : public ::testing::Test {};

using ActivationTypes = ::testing::Types<Sigmoid<float>, TanH<float>, LeakyReLU<float>>;
TYPED_TEST_SUITE(Activations, ActivationTypes);

TYPED_TEST(Activations, HandedOverFormsComputeInPlaceWithTheSameValues) {
  TypeParam by_reference;
  TypeParam handed_over;
  Tensor<float> input({2, 5});
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>(i) * 0.7f - 3.0f;
  const Tensor<float> expected_output = by_reference.forward(input);
  Tensor<float> copy = input;
  const float* buffer = copy.data();
  Tensor<float> output = handed_over.forward(std::move(copy));
  EXPECT_EQ(output.data(), buffer);  // computed in the given buffer
  EXPECT_EQ(output, expected_output);
  const Tensor<float> error({2, 5}, 0.5f);
  const Tensor<float> expected_error = by_reference.backward(error);
  Tensor<float> error_copy = error;
  const float* error_buffer = error_copy.data();
  const Tensor<float> input_error = handed_over.backward(std::move(error_copy));
  EXPECT_EQ(input_error.data(), error_buffer);
  EXPECT_EQ(input_error, expected_error);
}

TYPED_TEST(Activations, ShapesFlopsAndTheTestingPhase) {
  TypeParam layer;
  EXPECT_EQ(layer.output_shape({2, 3, 4, 5}), (Shape{2, 3, 4, 5}));
  EXPECT_GT(layer.forward_flops({2, 3, 4, 5}), 0u);
  EXPECT_EQ(layer.forward_flops({2, 3, 4, 5}) % 120, 0u);  // the same count per element
  EXPECT_FALSE(layer.trainable());
  layer.set_testing_phase(true);
  const Tensor<float> input({2, 3}, -0.25f);
  EXPECT_EQ(layer.forward(input).shape(), (Shape{2, 3}));
  expect_throw_with<std::logic_error>(
      [&] {
        (void)layer.backward(Tensor<float>({2, 3}));
      },
      {layer.type(), "testing-phase forward()"});
}

TYPED_TEST(Activations, BadInputs) {
  TypeParam layer;
  expect_throw_with<std::logic_error>(
      [&] {
        (void)layer.backward(Tensor<float>({2, 3}));
      },
      {layer.type(), "forward() before backward()"});
  (void)layer.forward(Tensor<float>({2, 3}));
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)layer.backward(Tensor<float>({3, 2}));
      },
      {layer.type(), "[2, 3]", "[3, 2]"});
}

}  // namespace
}  // namespace cnnkit
