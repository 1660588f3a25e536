#include "cnnkit/layers/fully_connected.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/initializers.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/random.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::expect_tensor_near;
using testing::expect_throw_with;

// x (2, 3), W (3, 2) with bias row b = [0.5, -0.5]: the worked example of this file.
const Tensor<double> kInput({2, 3}, std::vector<double>{1, 2, 3, 4, 5, 6});
const Tensor<double> kWeights({4, 2}, std::vector<double>{1, 0,   //
                                                          0, 1,   //
                                                          1, -1,  //
                                                          0.5, -0.5});
const Tensor<double> kError({2, 2}, std::vector<double>{1, 2, -1, 0.5});

FullyConnected<double> worked_layer() {
  FullyConnected<double> layer(3, 2);
  layer.set_weights(kWeights);
  return layer;
}

TEST(FullyConnected, ForwardByHand) {
  FullyConnected<double> layer = worked_layer();
  // Row 1: [1 + 3 + 0.5, 2 - 3 - 0.5]; row 2: [4 + 6 + 0.5, 5 - 6 - 0.5].
  expect_tensor_near(layer.forward(kInput),
                     Tensor<double>({2, 2}, std::vector<double>{4.5, -1.5, 10.5, -1.5}), 1e-12);
}

TEST(FullyConnected, ForwardInFloat) {
  FullyConnected<float> layer(3, 2);
  layer.set_weights(Tensor<float>({4, 2}, std::vector<float>{1, 0, 0, 1, 1, -1, 0.5f, -0.5f}));
  const Tensor<float> input({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  expect_tensor_near(layer.forward(input),
                     Tensor<float>({2, 2}, std::vector<float>{4.5f, -1.5f, 10.5f, -1.5f}), 1e-5);
}

TEST(FullyConnected, BackwardByHand) {
  FullyConnected<double> layer = worked_layer();
  layer.forward(kInput);
  // E W^T with W^T = [[1, 0, 1], [0, 1, -1]].
  expect_tensor_near(layer.backward(kError),
                     Tensor<double>({2, 3}, std::vector<double>{1, 2, -1, -1, 0.5, -1.5}), 1e-12);
  // x^T E: [[1-4, 2+2], [2-5, 4+2.5], [3-6, 6+3]]; bias row: column sums [0, 2.5].
  expect_tensor_near(layer.gradient_weights(),
                     Tensor<double>({4, 2}, std::vector<double>{-3, 4, -3, 6.5, -3, 9, 0, 2.5}),
                     1e-12);
  // No optimizer: the weights stay.
  EXPECT_EQ(layer.weights(), kWeights);
}

TEST(FullyConnected, WeightsLayoutPutsBiasLast) {
  FullyConnected<double> layer = worked_layer();
  EXPECT_EQ(layer.weights(), kWeights);
  const std::vector<Parameter<double>*> parameters = layer.parameters();
  ASSERT_EQ(parameters.size(), 2u);
  EXPECT_EQ(parameters[0]->name, "weights");
  EXPECT_EQ(parameters[0]->value, Tensor<double>({3, 2}, std::vector<double>{1, 0, 0, 1, 1, -1}));
  EXPECT_EQ(parameters[1]->name, "bias");
  EXPECT_EQ(parameters[1]->value, Tensor<double>({1, 2}, std::vector<double>{0.5, -0.5}));
  EXPECT_EQ(layer.parameter_count(), 8u);
  EXPECT_EQ(layer.input_size(), 3u);
  EXPECT_EQ(layer.output_size(), 2u);
}

TEST(FullyConnected, OptimizerUpdatesAfterTheInputErrorUsedTheOldWeights) {
  FullyConnected<double> layer = worked_layer();
  layer.set_optimizer(Sgd<double>(0.5));
  layer.forward(kInput);
  // Same input error as without an optimizer: computed before the update.
  expect_tensor_near(layer.backward(kError),
                     Tensor<double>({2, 3}, std::vector<double>{1, 2, -1, -1, 0.5, -1.5}), 1e-12);
  // W - 0.5 grad W, bias row included.
  expect_tensor_near(
      layer.weights(),
      Tensor<double>({4, 2}, std::vector<double>{2.5, -2, 1.5, -2.25, 2.5, -5.5, 0.5, -1.75}),
      1e-12);
}

TEST(FullyConnected, WeightsAndBiasGetSeparateOptimizerCopies) {
  // Lecture: "Make the bias and weights of every layer have a copy of the optimizer". Adam keeps
  // moments shaped like its tensor, so one shared copy would refuse the second tensor.
  FullyConnected<double> layer = worked_layer();
  layer.set_optimizer(Adam<double>(0.1, 0.9, 0.999));
  const std::vector<Parameter<double>*> parameters = layer.parameters();
  ASSERT_NE(parameters[0]->optimizer, nullptr);
  ASSERT_NE(parameters[1]->optimizer, nullptr);
  EXPECT_NE(parameters[0]->optimizer.get(), parameters[1]->optimizer.get());
  layer.forward(kInput);
  layer.backward(kError);
  // Adam's first step moves every weight with a nonzero gradient by eta = 0.1 against its sign
  // (v^ / sqrt(r^) = g / |g|); the bias gradient [0, 2.5] moves only the second bias.
  expect_tensor_near(
      layer.weights(),
      Tensor<double>({4, 2}, std::vector<double>{1.1, -0.1, 0.1, 0.9, 1.1, -1.1, 0.5, -0.6}), 1e-7);
  EXPECT_EQ(dynamic_cast<const Adam<double>&>(*parameters[0]->optimizer).step(), 1u);
  EXPECT_EQ(dynamic_cast<const Adam<double>&>(*parameters[1]->optimizer).step(), 1u);
}

TEST(FullyConnected, ParametersReshapedFromOutsideAreRefused) {
  // parameters() hands out the tensors themselves; a wrong shape put there must not make the
  // matrix products read or write past the end.
  FullyConnected<double> layer = worked_layer();
  layer.parameters()[0]->value = Tensor<double>({2, 2});
  expect_throw_with<std::invalid_argument>([&] { layer.forward(kInput); },
                                           {"FullyConnected", "weights of shape [3, 2]", "[2, 2]"});
  expect_throw_with<std::invalid_argument>([&] { (void)layer.weights(); },
                                           {"FullyConnected", "[3, 2]", "got [2, 2]"});
  // set_weights() replaces both tensors whole and so repairs the layer.
  layer.set_weights(kWeights);
  EXPECT_EQ(layer.weights(), kWeights);
  layer.parameters()[1]->value = Tensor<double>({3});
  expect_throw_with<std::invalid_argument>([&] { layer.forward(kInput); },
                                           {"FullyConnected", "bias of shape [1, 2]", "[3]"});
  layer.set_weights(kWeights);
  // A gradient tensor of another shape is rebuilt by backward() before it is written.
  layer.parameters()[0]->gradient = Tensor<double>({1});
  expect_throw_with<std::invalid_argument>([&] { (void)layer.gradient_weights(); },
                                           {"FullyConnected", "[3, 2]", "got [1]"});
  layer.forward(kInput);
  layer.backward(kError);
  expect_tensor_near(layer.gradient_weights(),
                     Tensor<double>({4, 2}, std::vector<double>{-3, 4, -3, 6.5, -3, 9, 0, 2.5}),
                     1e-12);
}

TEST(FullyConnected, FrozenLayerKeepsItsWeights) {
  FullyConnected<double> layer = worked_layer();
  layer.set_optimizer(Sgd<double>(0.5));
  layer.set_frozen(true);
  layer.forward(kInput);
  layer.backward(kError);
  EXPECT_EQ(layer.weights(), kWeights);
}

// Records what the layer asked for and fills the tensor with its own value.
class RecordingInitializer : public Initializer<double> {
 public:
  explicit RecordingInitializer(double value) : value_(value) {}
  Tensor<double> initialize(const Shape& shape, std::size_t fan_in, std::size_t fan_out) override {
    shapes.push_back(shape);
    fan_ins.push_back(fan_in);
    fan_outs.push_back(fan_out);
    return Tensor<double>(shape, value_);
  }
  std::unique_ptr<Initializer<double>> clone() const override {
    return std::make_unique<RecordingInitializer>(*this);
  }
  std::vector<Shape> shapes;
  std::vector<std::size_t> fan_ins;
  std::vector<std::size_t> fan_outs;

 private:
  double value_;
};

TEST(FullyConnected, InitializeAsksEachInitializerForItsPart) {
  FullyConnected<double> layer(3, 2);
  RecordingInitializer weights_init(0.75);
  RecordingInitializer bias_init(-0.125);
  layer.initialize(weights_init, bias_init);
  ASSERT_EQ(weights_init.shapes.size(), 1u);
  EXPECT_EQ(weights_init.shapes[0], (Shape{3, 2}));
  EXPECT_EQ(weights_init.fan_ins[0], 3u);
  EXPECT_EQ(weights_init.fan_outs[0], 2u);
  ASSERT_EQ(bias_init.shapes.size(), 1u);
  EXPECT_EQ(bias_init.shapes[0], (Shape{1, 2}));
  EXPECT_EQ(bias_init.fan_ins[0], 3u);
  EXPECT_EQ(bias_init.fan_outs[0], 2u);
  EXPECT_EQ(layer.weights(),
            Tensor<double>(
                {4, 2}, std::vector<double>{0.75, 0.75, 0.75, 0.75, 0.75, 0.75, -0.125, -0.125}));
}

TEST(FullyConnected, InitializeWithConstants) {
  FullyConnected<float> layer(2, 3);
  Constant<float> weights_init(0.5f);
  Constant<float> bias_init(0.1f);
  layer.initialize(weights_init, bias_init);
  const Tensor<float> w = layer.weights();
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(w[i], 0.5f) << i;
  for (std::size_t i = 6; i < 9; ++i) EXPECT_EQ(w[i], 0.1f) << i;
}

// Hands back a tensor of the wrong shape.
class WrongShapeInitializer : public Initializer<double> {
 public:
  Tensor<double> initialize(const Shape& /*shape*/, std::size_t, std::size_t) override {
    return Tensor<double>({5, 5}, 1.0);
  }
  std::unique_ptr<Initializer<double>> clone() const override {
    return std::make_unique<WrongShapeInitializer>();
  }
};

TEST(FullyConnected, InitializerOfWrongShapeIsRejected) {
  FullyConnected<double> layer = worked_layer();
  WrongShapeInitializer wrong;
  Constant<double> constant(0.1);
  expect_throw_with<std::invalid_argument>([&] { layer.initialize(wrong, constant); },
                                           {"FullyConnected", "[3, 2]", "[5, 5]"});
  expect_throw_with<std::invalid_argument>([&] { layer.initialize(constant, wrong); },
                                           {"FullyConnected", "[1, 2]", "[5, 5]"});
  EXPECT_EQ(layer.weights(), kWeights);  // nothing half-applied
}

TEST(FullyConnected, StartsUniformInZeroOneAndRepeatsWithTheSeed) {
  set_seed(7);
  const FullyConnected<double> first(100, 100);
  set_seed(7);
  const FullyConnected<double> second(100, 100);
  EXPECT_EQ(first.weights(), second.weights());
  const Tensor<double> w = first.weights();
  double sum = 0;
  for (const double v : w) {
    EXPECT_GE(v, 0.0);
    EXPECT_LT(v, 1.0);
    sum += v;
  }
  // 10100 draws of U[0, 1): the mean's standard deviation is 0.29 / 100.5 = 0.0029.
  EXPECT_NEAR(sum / static_cast<double>(w.size()), 0.5, 0.015);
  const FullyConnected<double> third(100, 100);  // the engine moved on
  EXPECT_NE(first.weights(), third.weights());
}

TEST(FullyConnected, OutputShapeAndFlops) {
  const FullyConnected<float> layer(784, 120);
  EXPECT_EQ(layer.output_shape({64, 784}), (Shape{64, 120}));
  EXPECT_EQ(layer.forward_flops({64, 784}), 2u * 64 * 784 * 120);
  EXPECT_THROW(layer.output_shape({64, 783}), std::invalid_argument);
}

TEST(FullyConnected, EmptyBatchGivesEmptyOutputAndZeroGradient) {
  FullyConnected<double> layer = worked_layer();
  const Tensor<double> output = layer.forward(Tensor<double>({0, 3}));
  EXPECT_EQ(output.shape(), (Shape{0, 2}));
  const Tensor<double> input_error = layer.backward(Tensor<double>({0, 2}));
  EXPECT_EQ(input_error.shape(), (Shape{0, 3}));
  for (const double g : layer.gradient_weights()) EXPECT_EQ(g, 0.0);
}

TEST(FullyConnected, GradientCheck) {
  set_seed(3);
  FullyConnected<double> layer(4, 3);
  Tensor<double> input({2, 4}, std::vector<double>{0.3, -1.2, 0.8, 2.0, -0.5, 0.1, 1.7, -0.9});
  const Tensor<double> label({2, 3}, std::vector<double>{0.2, -0.4, 1.0, 0.0, 0.5, -1.5});
  L2Loss<double> loss;
  const GradientCheckResult result = gradient_check<double>({&layer}, loss, input, label);
  ASSERT_EQ(result.entries.size(), 3u);
  EXPECT_EQ(result.entries[1].what, "layer 0 (FullyConnected) weights");
  EXPECT_EQ(result.entries[2].what, "layer 0 (FullyConnected) bias");
  for (const GradientCheckEntry& entry : result.entries) {
    EXPECT_LT(entry.max_relative_error, 1e-7) << entry.what;
  }
}

TEST(FullyConnected, BadArguments) {
  expect_throw_with<std::invalid_argument>([] { FullyConnected<float>(0, 3); },
                                           {"FullyConnected: expected input_size above 0, got 0"});
  expect_throw_with<std::invalid_argument>([] { FullyConnected<float>(3, 0); },
                                           {"FullyConnected: expected output_size above 0, got 0"});
  FullyConnected<double> layer = worked_layer();
  expect_throw_with<std::logic_error>([&] { layer.backward(kError); },
                                      {"FullyConnected", "forward"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        layer.forward(Tensor<double>({2, 4}));
      },
      {"FullyConnected", "[batch, 3]", "[2, 4]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        layer.forward(Tensor<double>({2, 3, 1}));
      },
      {"FullyConnected", "[batch, 3]", "[2, 3, 1]"});
  expect_throw_with<std::invalid_argument>([&] { layer.forward(Tensor<double>({3})); },
                                           {"FullyConnected", "[batch, 3]", "got [3]"});
  layer.forward(kInput);
  expect_throw_with<std::invalid_argument>(
      [&] {
        layer.backward(Tensor<double>({2, 3}));
      },
      {"FullyConnected", "[2, 2]", "[2, 3]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        layer.backward(Tensor<double>({1, 2}));
      },
      {"FullyConnected", "[2, 2]", "[1, 2]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        layer.set_weights(Tensor<double>({3, 2}));
      },
      {"FullyConnected", "[4, 2]", "[3, 2]"});
  EXPECT_EQ(layer.weights(), kWeights);
}

}  // namespace
}  // namespace cnnkit
