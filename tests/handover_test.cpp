// The hand-over forms of forward() and backward() (a tensor passed as an rvalue, as
// NeuralNetwork passes each result on): the same numbers bit for bit as the const& forms, and the
// layers that can work without a copy do so (ReLU computes in the given buffer, Flatten only
// renames its shape, Conv and FullyConnected keep the given input for backward).
#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "cnnkit/layer.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/pooling.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/random.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::expect_bitwise_equal;
using testing::LayerCase;

// Values in [-1, 1), exact zeros included (ReLU's kink).
Tensor<float> random_tensor(const Shape& shape, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_int_distribution<int> pick(-8, 8);
  Tensor<float> tensor(shape);
  for (float& value : tensor) value = static_cast<float>(pick(engine)) / 8.0F;
  return tensor;
}

std::vector<LayerCase> layer_cases() {
  return {
      {"Conv",
       [] {
         return std::unique_ptr<Layer<float>>(new Conv<float>({2}, {2, 3, 3}, 3));
       },
       {2, 2, 7, 5}},
      {"ReLU", [] { return std::unique_ptr<Layer<float>>(new ReLU<float>()); }, {3, 2, 4}},
      {"Pooling",
       [] { return std::unique_ptr<Layer<float>>(new Pooling<float>({2}, {2})); },
       {2, 3, 4, 6}},
      {"Flatten", [] { return std::unique_ptr<Layer<float>>(new Flatten<float>()); }, {2, 3, 4}},
      {"FullyConnected",
       [] { return std::unique_ptr<Layer<float>>(new FullyConnected<float>(5, 4)); },
       {3, 5}},
      {"SoftMax", [] { return std::unique_ptr<Layer<float>>(new SoftMax<float>()); }, {3, 4}},
  };
}

// Forward, then backward, through each form; trainable layers update with Sgd, so the updated
// weights must agree as well (the next forward sees them).
TEST(Handover, SameNumbersAsTheConstForms) {
  for (const LayerCase& c : layer_cases()) {
    SCOPED_TRACE(c.name);
    set_seed(7);
    const std::unique_ptr<Layer<float>> by_reference = c.make();
    set_seed(7);
    const std::unique_ptr<Layer<float>> handed_over = c.make();
    by_reference->set_optimizer(Sgd<float>(0.5F));
    handed_over->set_optimizer(Sgd<float>(0.5F));
    // New values every step: from the second step on, the hand-over forms compute in recycled
    // buffers (the last step's error tensor and input), whose old values must not show through.
    for (unsigned step = 0; step < 3; ++step) {
      const Tensor<float> input = random_tensor(c.input_shape, 11 + 2 * step);
      const Tensor<float> error =
          random_tensor(by_reference->output_shape(c.input_shape), 12 + 2 * step);
      const Tensor<float> expected_output = by_reference->forward(input);
      const Tensor<float> expected_error = by_reference->backward(error);
      Tensor<float> input_copy = input;
      Tensor<float> error_copy = error;
      expect_bitwise_equal(handed_over->forward(std::move(input_copy)), expected_output);
      expect_bitwise_equal(handed_over->backward(std::move(error_copy)), expected_error);
    }
  }
}

TEST(Handover, ReluComputesInTheGivenBuffer) {
  ReLU<float> relu;
  Tensor<float> input({1, 4}, std::vector<float>{-1.0F, 0.0F, 2.5F, 0.5F});
  const float* buffer = input.data();
  const Tensor<float> output = relu.forward(std::move(input));
  EXPECT_EQ(output.data(), buffer);
  expect_bitwise_equal(output, Tensor<float>({1, 4}, std::vector<float>{0.0F, 0.0F, 2.5F, 0.5F}));

  Tensor<float> error({1, 4}, std::vector<float>{1.0F, 2.0F, 3.0F, 4.0F});
  const float* error_buffer = error.data();
  const Tensor<float> input_error = relu.backward(std::move(error));
  EXPECT_EQ(input_error.data(), error_buffer);
  expect_bitwise_equal(input_error,
                       Tensor<float>({1, 4}, std::vector<float>{0.0F, 0.0F, 3.0F, 4.0F}));
}

TEST(Handover, FlattenKeepsTheBuffer) {
  Flatten<float> flatten;
  Tensor<float> input = random_tensor({2, 3, 4}, 5);
  const Tensor<float> copy = input;
  const float* buffer = input.data();
  const Tensor<float> output = flatten.forward(std::move(input));
  EXPECT_EQ(output.data(), buffer);
  EXPECT_EQ(output.shape(), (Shape{2, 12}));
  expect_bitwise_equal(output.reshaped({2, 3, 4}), copy);
  Tensor<float> error = random_tensor({2, 12}, 6);
  const float* error_buffer = error.data();
  const Tensor<float> back = flatten.backward(std::move(error));
  EXPECT_EQ(back.data(), error_buffer);
  EXPECT_EQ(back.shape(), (Shape{2, 3, 4}));
}

// A kept input must be the caller's values: changing the caller's tensor afterwards is
// impossible (it was moved from), and the weight gradient equals the one from a copied input.
TEST(Handover, ConvAndFullyConnectedKeepTheGivenInput) {
  set_seed(3);
  Conv<float> conv({1}, {1, 3, 3}, 2);
  set_seed(3);
  Conv<float> reference({1}, {1, 3, 3}, 2);
  const Tensor<float> input = random_tensor({2, 1, 5, 5}, 9);
  const Tensor<float> error = random_tensor({2, 2, 5, 5}, 10);
  Tensor<float> given = input;
  (void)conv.forward(std::move(given));
  EXPECT_TRUE(given.empty()) << "Conv copied the handed-over input instead of keeping it";
  (void)reference.forward(input);
  (void)conv.backward(error);
  (void)reference.backward(error);
  expect_bitwise_equal(conv.gradient_weights(), reference.gradient_weights());
  expect_bitwise_equal(conv.gradient_bias(), reference.gradient_bias());

  set_seed(4);
  FullyConnected<float> fc(6, 3);
  set_seed(4);
  FullyConnected<float> fc_reference(6, 3);
  const Tensor<float> x = random_tensor({4, 6}, 12);
  const Tensor<float> e = random_tensor({4, 3}, 14);
  Tensor<float> x_given = x;
  (void)fc.forward(std::move(x_given));
  EXPECT_TRUE(x_given.empty()) << "FullyConnected copied the handed-over input";
  (void)fc_reference.forward(x);
  (void)fc.backward(e);
  (void)fc_reference.backward(e);
  expect_bitwise_equal(fc.gradient_weights(), fc_reference.gradient_weights());
}

// In the testing phase a handed-over input is dropped, not kept.
TEST(Handover, TestingPhaseKeepsNothing) {
  Conv<float> conv({1}, {1, 3, 3}, 2);
  conv.set_testing_phase(true);
  (void)conv.forward(random_tensor({1, 1, 4, 4}, 2));
  EXPECT_THROW((void)conv.backward(Tensor<float>({1, 2, 4, 4})), std::logic_error);
  ReLU<float> relu;
  relu.set_testing_phase(true);
  (void)relu.forward(random_tensor({2, 3}, 2));
  EXPECT_THROW((void)relu.backward(Tensor<float>({2, 3})), std::logic_error);
}

// The losses keep a handed-over prediction, and their next error tensor reuses the buffer of
// the prediction before: the same numbers as with copies, step after step.
TEST(Handover, LossesGiveTheSameNumbersAsTheConstForms) {
  const std::vector<std::pair<const char*, std::function<std::unique_ptr<Loss<float>>()>>> losses{
      {"CrossEntropyLoss", [] { return std::make_unique<CrossEntropyLoss<float>>(); }},
      {"L2Loss", [] { return std::make_unique<L2Loss<float>>(); }},
  };
  for (const auto& [name, make] : losses) {
    SCOPED_TRACE(name);
    const std::unique_ptr<Loss<float>> by_reference = make();
    const std::unique_ptr<Loss<float>> handed_over = make();
    for (unsigned step = 0; step < 3; ++step) {
      Tensor<float> prediction = random_tensor({4, 3}, 21 + step);
      for (float& p : prediction) p = p * 0.25F + 0.5F;  // in (0, 1), as after a SoftMax
      Tensor<float> label({4, 3});
      for (std::size_t b = 0; b < 4; ++b) label(b, (b + step) % 3) = 1.0F;
      const float expected_loss = by_reference->forward(prediction, label);
      const Tensor<float> expected_error = by_reference->backward(label);
      EXPECT_EQ(handed_over->forward(std::move(prediction), label), expected_loss);
      expect_bitwise_equal(handed_over->backward(label), expected_error);
    }
  }
}

}  // namespace
}  // namespace cnnkit
