// The Conv layer's backward pass: a hand-worked strided case, numerical gradient checks
// (double) for input, weights and bias over the geometries that differ (stride, 1-D, even and
// 1x1 kernels, several channels and kernels), the optimizer step that follows backward, and
// initialize()'s shapes and fans.
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/initializers.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/optimizers.hpp"
#include "conv_test_helpers.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::expect_tensor_near;
using testing::expect_throw_with;
using testing::random_tensor;

TEST(ConvBackward, StridedOneDimensionalByHand) {
  // x = [1 2 3 4 5], w = [1 2 3], stride 2, padding 1 each side; E = [1 -1 2].
  // Input error (upsample E, transposed convolution): E[i] spreads w over padded x[2i..2i+2]:
  //   [1 2 3 0 0 0 0] + [0 0 -1 -2 -3 0 0] + [0 0 0 0 2 4 6] -> drop the padding -> [2 2 -2 -1 4].
  // dW[u] = sum_i E[i] xpad[2i+u], xpad = [0 1 2 3 4 5 0]: [0-2+8, 1-3+10, 2-4+0] = [6 8 -2].
  // db = 1 - 1 + 2 = 2.
  Conv<double> layer({2}, {1, 3}, 1);
  layer.set_weights(Tensor<double>({1, 1, 3}, std::vector<double>{1, 2, 3}));
  layer.forward(Tensor<double>({1, 1, 5}, std::vector<double>{1, 2, 3, 4, 5}));
  const Tensor<double> input_error =
      layer.backward(Tensor<double>({1, 1, 3}, std::vector<double>{1, -1, 2}));
  EXPECT_EQ(input_error, Tensor<double>({1, 1, 5}, std::vector<double>{2, 2, -2, -1, 4}));
  EXPECT_EQ(layer.gradient_weights(), Tensor<double>({1, 1, 3}, std::vector<double>{6, 8, -2}));
  EXPECT_EQ(layer.gradient_bias(), Tensor<double>({1}, std::vector<double>{2}));
}

TEST(ConvBackward, BiasGradientSumsTheErrorOverBatchAndSpace) {
  Conv<double> layer({1, 2}, {2, 3, 3}, 3);
  std::mt19937 engine(20);
  layer.forward(random_tensor<double>({2, 2, 4, 6}, engine));
  const Tensor<double> error = random_tensor<double>({2, 3, 4, 3}, engine);
  layer.backward(error);
  for (std::size_t k = 0; k < 3; ++k) {
    double sum = 0;
    for (std::size_t b = 0; b < 2; ++b)
      for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 3; ++j) sum += error(b, k, i, j);
    EXPECT_NEAR(layer.gradient_bias()(k), sum, 1e-12);
  }
}

struct GradientCase {
  std::string name;
  Shape stride_shape;
  Shape convolution_shape;
  std::size_t num_kernels;
  Shape input_shape;
  ConvOptions options = {};
};

// Analytic gradients of input, weights and bias against central differences of an L2 loss.
// The loss is exactly quadratic in each single input, weight or bias (the layers are affine in
// each), so central differences have no truncation error whatever the step; a large step keeps
// the rounding noise of the loss (~ eps * L / step) far below the tolerance. Seen: worst 2e-8
// (a near-zero input gradient); any indexing mistake gives errors of order 1.
constexpr double kStep = 1e-3;
void expect_gradients_match(const GradientCase& c) {
  SCOPED_TRACE(c.name);
  std::mt19937 engine(static_cast<unsigned>(c.name.size() * 97 + c.num_kernels));
  Conv<double> layer(c.stride_shape, c.convolution_shape, c.num_kernels, c.options);
  layer.set_weights(random_tensor<double>(layer.weights().shape(), engine));
  layer.set_bias(random_tensor<double>(layer.bias().shape(), engine));
  const Tensor<double> input = random_tensor<double>(c.input_shape, engine);
  const Tensor<double> label = random_tensor<double>(layer.output_shape(c.input_shape), engine);
  L2Loss<double> loss;
  const GradientCheckResult result = gradient_check<double>({&layer}, loss, input, label, kStep);
  ASSERT_EQ(result.entries.size(), 3u);  // input, weights, bias
  for (const GradientCheckEntry& entry : result.entries) {
    EXPECT_LT(entry.max_relative_error, 1e-6) << entry.what;
  }
}

TEST(ConvBackward, GradientCheckTwoDimensionalStrideOne) {
  expect_gradients_match({"2-D 3x3 stride 1", {1}, {2, 3, 3}, 3, {2, 2, 5, 6}});
}

TEST(ConvBackward, GradientCheckTwoDimensionalStrided) {
  expect_gradients_match({"2-D 3x4 stride {2, 3}", {2, 3}, {2, 3, 4}, 2, {2, 2, 7, 8}});
  expect_gradients_match({"2-D 3x3 stride {3, 1}", {3, 1}, {1, 3, 3}, 2, {1, 1, 8, 5}});
}

TEST(ConvBackward, GradientCheckOneDimensionalWithStride) {
  expect_gradients_match({"1-D m3 stride 2", {2}, {3, 3}, 2, {2, 3, 9}});
  expect_gradients_match({"1-D even m4 stride 3", {3}, {2, 4}, 3, {1, 2, 10}});
}

TEST(ConvBackward, GradientCheckEvenKernels) {
  expect_gradients_match({"2x2 stride 1", {1}, {2, 2, 2}, 2, {2, 2, 5, 4}});
  expect_gradients_match({"4x4 stride 2", {2}, {1, 4, 4}, 2, {1, 1, 7, 6}});
}

TEST(ConvBackward, GradientCheckOneByOne) {
  expect_gradients_match({"1x1 stride 1", {1}, {4, 1, 1}, 3, {2, 4, 3, 5}});
  expect_gradients_match({"1x1 stride 2", {2}, {3, 1, 1}, 2, {1, 3, 5, 4}});
}

TEST(ConvBackward, GradientCheckMultiChannelMultiKernel) {
  expect_gradients_match({"C3 K4 3x3 stride {1, 2}", {1, 2}, {3, 3, 3}, 4, {3, 3, 6, 7}});
  expect_gradients_match({"C2 K3 5x3 kernel wider than image", {1}, {2, 5, 3}, 3, {2, 2, 3, 2}});
}

TEST(ConvBackward, GradientCheckValidAndExplicitPadding) {
  expect_gradients_match(
      {"2-D valid 3x3 stride {2, 1}", {2, 1}, {2, 3, 3}, 3, {2, 2, 8, 7}, {ConvPadding::valid()}});
  expect_gradients_match({"2-D padding [[2, 0], [1, 3]] 3x2 stride {1, 3}",
                          {1, 3},
                          {2, 3, 2},
                          2,
                          {2, 2, 6, 7},
                          {ConvPadding::explicit_sizes({{2, 0}, {1, 3}})}});
  expect_gradients_match(
      {"1-D padding 3 m2 stride 2", {2}, {2, 2}, 2, {2, 2, 9}, {ConvPadding::symmetric(3)}});
}

TEST(ConvBackward, GradientCheckDilation) {
  expect_gradients_match({"2-D dilation {2, 3} same stride 1",
                          {1},
                          {2, 3, 3},
                          2,
                          {2, 2, 9, 10},
                          {ConvPadding::same(), {2, 3}}});
  expect_gradients_match({"2-D dilation 2 valid stride 2",
                          {2},
                          {1, 3, 2},
                          3,
                          {1, 1, 11, 9},
                          {ConvPadding::valid(), {2}}});
  expect_gradients_match(
      {"1-D dilation 3 m4 stride 3", {3}, {2, 4}, 2, {2, 2, 14}, {ConvPadding::same(), {3}}});
}

TEST(ConvBackward, GradientCheckGroupsAndDepthwise) {
  expect_gradients_match(
      {"2-D groups 2", {1}, {4, 3, 3}, 6, {2, 4, 6, 5}, {ConvPadding::same(), {1}, 2}});
  expect_gradients_match({"2-D depthwise stride 2 padding 1",
                          {2},
                          {3, 3, 3},
                          3,
                          {2, 3, 7, 8},
                          {ConvPadding::symmetric(1), {1}, 3}});
  expect_gradients_match(
      {"1-D depthwise x2 dilation 2", {1}, {3, 3}, 6, {2, 3, 10}, {ConvPadding::same(), {2}, 3}});
}

TEST(ConvBackward, GradientCheckThroughTwoStackedConvolutions) {
  // The first layer's input error passes through the second layer's backward pass.
  std::mt19937 engine(21);
  Conv<double> first({2}, {2, 3, 3}, 3), second({1}, {3, 2, 2}, 2);
  for (Conv<double>* layer : {&first, &second}) {
    layer->set_weights(random_tensor<double>(layer->weights().shape(), engine));
    layer->set_bias(random_tensor<double>(layer->bias().shape(), engine));
  }
  const Tensor<double> input = random_tensor<double>({2, 2, 6, 5}, engine);
  const Tensor<double> label = random_tensor<double>({2, 2, 3, 3}, engine);
  L2Loss<double> loss;
  const GradientCheckResult result =
      gradient_check<double>({&first, &second}, loss, input, label, kStep);
  ASSERT_EQ(result.entries.size(), 5u);
  for (const GradientCheckEntry& entry : result.entries) {
    EXPECT_LT(entry.max_relative_error, 1e-6) << entry.what;
  }
}

TEST(ConvBackward, OptimizerUpdatesAfterTheInputErrorIsComputed) {
  std::mt19937 engine(22);
  Conv<double> layer({1, 2}, {2, 3, 3}, 2), twin({1, 2}, {2, 3, 3}, 2);
  layer.set_weights(random_tensor<double>({2, 2, 3, 3}, engine));
  layer.set_bias(random_tensor<double>({2}, engine));
  twin.set_weights(layer.weights());
  twin.set_bias(layer.bias());
  layer.set_optimizer(Sgd<double>(0.1));

  const Tensor<double> input = random_tensor<double>({2, 2, 5, 6}, engine);
  const Tensor<double> error = random_tensor<double>({2, 2, 5, 3}, engine);
  layer.forward(input);
  twin.forward(input);
  const Tensor<double> input_error = layer.backward(error);
  const Tensor<double> twin_error = twin.backward(error);  // no optimizer: weights stay

  // The input error came from the weights forward() used, not the updated ones.
  expect_tensor_near(input_error, twin_error, 1e-12);
  expect_tensor_near(layer.gradient_weights(), twin.gradient_weights(), 1e-12);
  // Sgd: w = w - 0.1 * grad for both parameters.
  Tensor<double> expected_weights = twin.weights();
  for (std::size_t i = 0; i < expected_weights.size(); ++i) {
    expected_weights[i] -= 0.1 * twin.gradient_weights()[i];
  }
  Tensor<double> expected_bias = twin.bias();
  for (std::size_t k = 0; k < 2; ++k) expected_bias[k] -= 0.1 * twin.gradient_bias()[k];
  expect_tensor_near(layer.weights(), expected_weights, 1e-12);
  expect_tensor_near(layer.bias(), expected_bias, 1e-12);
  EXPECT_NE(layer.weights(), twin.weights());
}

// Records what the layer asked for and hands back 0, 1, 2, ... so the result is traceable.
class RecordingInitializer : public Initializer<double> {
 public:
  Tensor<double> initialize(const Shape& shape, std::size_t fan_in, std::size_t fan_out) override {
    shapes.push_back(shape);
    fan_ins.push_back(fan_in);
    fan_outs.push_back(fan_out);
    Tensor<double> tensor(shape_override.empty() ? shape : shape_override);
    for (std::size_t i = 0; i < tensor.size(); ++i) tensor[i] = double(i) + offset;
    return tensor;
  }
  std::unique_ptr<Initializer<double>> clone() const override {
    return std::make_unique<RecordingInitializer>(*this);
  }

  double offset = 0;
  Shape shape_override;  // if set, the (wrong) shape handed back
  std::vector<Shape> shapes;
  std::vector<std::size_t> fan_ins, fan_outs;
};

TEST(ConvBackward, InitializePassesShapesAndFans) {
  // 2-D: fan_in = c*m*n = 3*5*4 = 60, fan_out = K*m*n = 6*5*4 = 120.
  Conv<double> layer({1}, {3, 5, 4}, 6);
  RecordingInitializer weights_init, bias_init;
  bias_init.offset = 100;
  layer.initialize(weights_init, bias_init);
  ASSERT_EQ(weights_init.shapes.size(), 1u);
  ASSERT_EQ(bias_init.shapes.size(), 1u);
  EXPECT_EQ(weights_init.shapes[0], (Shape{6, 3, 5, 4}));
  EXPECT_EQ(weights_init.fan_ins[0], 60u);
  EXPECT_EQ(weights_init.fan_outs[0], 120u);
  EXPECT_EQ(bias_init.shapes[0], (Shape{6}));
  EXPECT_EQ(bias_init.fan_ins[0], 60u);
  EXPECT_EQ(bias_init.fan_outs[0], 120u);
  EXPECT_EQ(layer.weights()(0, 0, 0, 1), 1.0);
  EXPECT_EQ(layer.weights()(5, 2, 4, 3), 359.0);  // last of 6*3*5*4 = 360 values
  EXPECT_EQ(layer.bias(), Tensor<double>({6}, std::vector<double>{100, 101, 102, 103, 104, 105}));

  // 1-D: fan_in = c*m = 2*7 = 14, fan_out = K*m = 5*7 = 35.
  Conv<double> one_d({2}, {2, 7}, 5);
  RecordingInitializer w1, b1;
  one_d.initialize(w1, b1);
  EXPECT_EQ(w1.shapes[0], (Shape{5, 2, 7}));
  EXPECT_EQ(w1.fan_ins[0], 14u);
  EXPECT_EQ(w1.fan_outs[0], 35u);
  EXPECT_EQ(b1.shapes[0], (Shape{5}));
  EXPECT_EQ(b1.fan_ins[0], 14u);
  EXPECT_EQ(b1.fan_outs[0], 35u);
}

TEST(ConvBackward, InitializerOfWrongShapeIsRefused) {
  Conv<double> layer({1}, {1, 3, 3}, 2);
  const Tensor<double> before = layer.weights();
  RecordingInitializer wrong, bias_init;
  wrong.shape_override = {2, 9};
  expect_throw_with<std::invalid_argument>([&] { layer.initialize(wrong, bias_init); },
                                           {"Conv", "[2, 1, 3, 3]", "[2, 9]"});
  EXPECT_EQ(layer.weights(), before);
}

}  // namespace
}  // namespace cnnkit
