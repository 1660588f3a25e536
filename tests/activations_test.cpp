// ReLU, SoftMax and Flatten: the layers without parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <stdexcept>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/loss.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::expect_tensor_near;
using testing::expect_throw_with;

// Uniform in [low, high), reproducible.
Tensor<double> random_tensor(const Shape& shape, double low, double high, unsigned seed) {
  Tensor<double> tensor(shape);
  std::mt19937 engine(seed);
  std::uniform_real_distribution<double> uniform(low, high);
  for (double& v : tensor) v = uniform(engine);
  return tensor;
}

// ---- ReLU

TEST(ReLU, ForwardClipsNegatives) {
  ReLU<double> relu;
  const Tensor<double> input({2, 3}, std::vector<double>{-1, 0, 2.5, -0.5, 3, 1e-9});
  expect_tensor_near(relu.forward(input),
                     Tensor<double>({2, 3}, std::vector<double>{0, 0, 2.5, 0, 3, 1e-9}), 0.0);
}

TEST(ReLU, BackwardPassesErrorOnlyWherePositive) {
  ReLU<float> relu;
  relu.forward(Tensor<float>({1, 4}, std::vector<float>{-1, 0, 2.5f, 0.5f}));
  // x = 0 takes the subgradient 0.
  expect_tensor_near(relu.backward(Tensor<float>({1, 4}, std::vector<float>{1, 2, 3, 4})),
                     Tensor<float>({1, 4}, std::vector<float>{0, 0, 3, 4}), 0.0);
}

TEST(ReLU, KeepsAnyShapeAndCountsOneOperationPerElement) {
  ReLU<double> relu;
  EXPECT_EQ(relu.forward(Tensor<double>({2, 3, 4, 5}, -1.0)).shape(), (Shape{2, 3, 4, 5}));
  EXPECT_EQ(relu.output_shape({2, 3, 4, 5}), (Shape{2, 3, 4, 5}));
  EXPECT_EQ(relu.forward_flops({2, 3, 4, 5}), 120u);
  EXPECT_FALSE(relu.trainable());
}

TEST(ReLU, GradientCheckAwayFromTheKink) {
  // |x| >= 0.1 everywhere, far beyond the finite-difference step.
  Tensor<double> input = random_tensor({3, 2, 4}, 0.1, 1.0, 1);
  for (std::size_t i = 0; i < input.size(); i += 2) input[i] = -input[i];
  ReLU<double> relu;
  L2Loss<double> loss;
  EXPECT_LT(
      gradient_check<double>({&relu}, loss, input, random_tensor({3, 2, 4}, -1, 1, 2)).worst(),
      1e-7);
}

TEST(ReLU, BadInputs) {
  ReLU<double> relu;
  expect_throw_with<std::logic_error>(
      [&] {
        relu.backward(Tensor<double>({2, 3}));
      },
      {"ReLU", "forward"});
  relu.forward(Tensor<double>({2, 3}));
  expect_throw_with<std::invalid_argument>(
      [&] {
        relu.backward(Tensor<double>({3, 2}));
      },
      {"ReLU", "[2, 3]", "[3, 2]"});
}

// ---- SoftMax

TEST(SoftMax, HandValues) {
  SoftMax<double> softmax;
  // [0, ln 2] -> [1, 2] / 3; [0, 0, ln 2] -> [1, 1, 2] / 4 (two rows of different batches).
  const Tensor<double> two =
      softmax.forward(Tensor<double>({2, 2}, std::vector<double>{0, std::log(2.0), 5, 5}));
  expect_tensor_near(two, Tensor<double>({2, 2}, std::vector<double>{1.0 / 3, 2.0 / 3, 0.5, 0.5}),
                     1e-15);
  const Tensor<double> three =
      softmax.forward(Tensor<double>({1, 3}, std::vector<double>{0, 0, std::log(2.0)}));
  expect_tensor_near(three, Tensor<double>({1, 3}, std::vector<double>{0.25, 0.25, 0.5}), 1e-15);
}

TEST(SoftMax, HugeInputsStayFinite) {
  SoftMax<float> softmax;
  // [1000, 1001] -> [1, e] / (1 + e); [-1000, 0] -> [exp(-1000) ~ 0, 1].
  const Tensor<float> output =
      softmax.forward(Tensor<float>({2, 2}, std::vector<float>{1000.0f, 1001.0f, -1000.0f, 0.0f}));
  const double e = std::exp(1.0);
  expect_tensor_near(
      output,
      Tensor<float>({2, 2}, std::vector<float>{static_cast<float>(1 / (1 + e)),
                                               static_cast<float>(e / (1 + e)), 0.0f, 1.0f}),
      1e-6);
  for (const float v : output) EXPECT_TRUE(std::isfinite(v));
}

TEST(SoftMax, RowsSumToOne) {
  SoftMax<double> softmax;
  const Tensor<double> output = softmax.forward(random_tensor({5, 7}, -20, 20, 3));
  for (std::size_t n = 0; n < 5; ++n) {
    double sum = 0;
    for (std::size_t k = 0; k < 7; ++k) {
      EXPECT_GE(output(n, k), 0.0);
      sum += output(n, k);
    }
    EXPECT_NEAR(sum, 1.0, 1e-14) << "row " << n;
  }
}

TEST(SoftMax, BackwardByHand) {
  SoftMax<double> softmax;
  // y = [1/3, 2/3], E = [1, 0]: sum E y = 1/3, E_{n-1} = y (E - 1/3) = [2/9, -2/9].
  softmax.forward(Tensor<double>({1, 2}, std::vector<double>{0, std::log(2.0)}));
  expect_tensor_near(softmax.backward(Tensor<double>({1, 2}, std::vector<double>{1, 0})),
                     Tensor<double>({1, 2}, std::vector<double>{2.0 / 9, -2.0 / 9}), 1e-15);
  // y = [1/4, 1/4, 1/2], E = [1, 2, -1]: sum E y = 1/4,
  // E_{n-1} = [1/4 * 3/4, 1/4 * 7/4, 1/2 * -5/4].
  softmax.forward(Tensor<double>({1, 3}, std::vector<double>{0, 0, std::log(2.0)}));
  expect_tensor_near(softmax.backward(Tensor<double>({1, 3}, std::vector<double>{1, 2, -1})),
                     Tensor<double>({1, 3}, std::vector<double>{0.1875, 0.4375, -0.625}), 1e-15);
}

TEST(SoftMax, GradientCheckWithL2Loss) {
  SoftMax<double> softmax;
  L2Loss<double> loss;
  EXPECT_LT(gradient_check<double>({&softmax}, loss, random_tensor({3, 4}, -2, 2, 4),
                                   random_tensor({3, 4}, 0, 1, 5))
                .worst(),
            1e-7);
}

TEST(SoftMax, GradientCheckWithCrossEntropy) {
  SoftMax<double> softmax;
  CrossEntropyLoss<double> loss;
  const Tensor<double> label({3, 4}, std::vector<double>{0, 1, 0, 0,  //
                                                         1, 0, 0, 0,  //
                                                         0, 0, 0, 1});
  EXPECT_LT(
      gradient_check<double>({&softmax}, loss, random_tensor({3, 4}, -2, 2, 6), label).worst(),
      1e-7);
}

TEST(SoftMax, OutputShapeAndFlops) {
  const SoftMax<float> softmax;
  EXPECT_EQ(softmax.output_shape({64, 10}), (Shape{64, 10}));
  EXPECT_EQ(softmax.forward_flops({64, 10}), 4u * 640);
}

TEST(SoftMax, BadInputs) {
  SoftMax<double> softmax;
  expect_throw_with<std::logic_error>(
      [&] {
        softmax.backward(Tensor<double>({2, 3}));
      },
      {"SoftMax", "forward"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        softmax.forward(Tensor<double>({2, 3, 4}));
      },
      {"SoftMax", "[batch, categories]", "[2, 3, 4]"});
  expect_throw_with<std::invalid_argument>([&] { softmax.forward(Tensor<double>({6})); },
                                           {"SoftMax", "[6]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        softmax.forward(Tensor<double>({2, 0}));
      },
      {"SoftMax", "[2, 0]"});
  softmax.forward(Tensor<double>({2, 3}));
  expect_throw_with<std::invalid_argument>(
      [&] {
        softmax.backward(Tensor<double>({2, 4}));
      },
      {"SoftMax", "[2, 3]", "[2, 4]"});
}

// ---- Flatten

TEST(Flatten, ForwardKeepsRowMajorOrderAndBackwardRestoresTheShape) {
  Flatten<double> flatten;
  Tensor<double> input({2, 3, 2, 2});
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<double>(i);
  const Tensor<double> output = flatten.forward(input);
  ASSERT_EQ(output.shape(), (Shape{2, 12}));
  // Sample 1, channel 2, y 0, x 1 is element 1 * 12 + 2 * 4 + 0 * 2 + 1 = 21.
  EXPECT_EQ(output(1, 9), 21.0);
  EXPECT_EQ(output.values(), input.values());
  const Tensor<double> input_error = flatten.backward(output);
  EXPECT_EQ(input_error, input);
}

TEST(Flatten, RankTwoPassesThrough) {
  Flatten<float> flatten;
  const Tensor<float> input({3, 4}, 1.5f);
  EXPECT_EQ(flatten.forward(input), input);
  EXPECT_EQ(flatten.output_shape({64, 16, 7, 7}), (Shape{64, 784}));
}

// Shape inference asks for the output of shapes no tensor holds: a product past std::size_t must
// not wrap to a small feature count.
TEST(Flatten, OutputShapeRefusesAFeatureCountPastSizeT) {
  const Flatten<float> flatten;
  constexpr std::size_t kBig = std::size_t{1} << 32;
  EXPECT_EQ(flatten.output_shape({2, kBig, kBig / 4}), (Shape{2, std::size_t{1} << 62}));
  expect_throw_with<std::overflow_error>(
      [&] {
        (void)flatten.output_shape({1, kBig, kBig, 3});
      },
      {"Shape", "got [4294967296, 4294967296, 3]"});
}

TEST(Flatten, GradientCheck) {
  Flatten<double> flatten;
  L2Loss<double> loss;
  EXPECT_LT(gradient_check<double>({&flatten}, loss, random_tensor({2, 2, 3, 2}, -1, 1, 7),
                                   random_tensor({2, 12}, -1, 1, 8))
                .worst(),
            1e-7);
}

TEST(Flatten, BadInputs) {
  Flatten<double> flatten;
  expect_throw_with<std::logic_error>(
      [&] {
        flatten.backward(Tensor<double>({2, 3}));
      },
      {"Flatten", "forward"});
  expect_throw_with<std::invalid_argument>([&] { flatten.forward(Tensor<double>({6})); },
                                           {"Flatten", "rank 2", "[6]"});
  flatten.forward(Tensor<double>({2, 3, 4}));
  expect_throw_with<std::invalid_argument>(
      [&] {
        flatten.backward(Tensor<double>({2, 3, 4}));
      },
      {"Flatten", "[2, 12]", "[2, 3, 4]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        flatten.backward(Tensor<double>({2, 11}));
      },
      {"Flatten", "[2, 12]", "[2, 11]"});
}

}  // namespace
}  // namespace cnnkit
