// Every built-in layer through check_layer (shapes, gradients, assignment into garbage-filled
// buffers, the calls' order), and the calls' order on the built-in layers' const& forms too.
#include "cnnkit/check_layer.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "cnnkit/layers/add.hpp"
#include "cnnkit/layers/average_pooling.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/layers/concat.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/dropout.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/leaky_relu.hpp"
#include "cnnkit/layers/normalize.hpp"
#include "cnnkit/layers/pooling.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/sigmoid.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/layers/tanh.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::expect_throw_with;

// Values in [-1, 1): both signs, no ties (ReLU's kink and pooling's ties have no derivative).
Tensor<double> random_input(const Shape& shape) {
  std::mt19937 engine(7);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  Tensor<double> tensor(shape);
  for (double& value : tensor) value = uniform(engine);
  return tensor;
}

struct BuiltInCase {
  const char* name;
  std::function<std::unique_ptr<Layer<double>>()> make;
  Shape input_shape;
};

std::vector<BuiltInCase> built_in_cases() {
  return {
      {"Conv 2-D",
       [] {
         return std::make_unique<Conv<double>>(Shape{1}, Shape{2, 3, 3}, 3);
       },
       {2, 2, 5, 4}},
      {"Conv 2-D strided",
       [] {
         return std::make_unique<Conv<double>>(Shape{2, 1}, Shape{2, 3, 2}, 2);
       },
       {2, 2, 5, 4}},
      {"Conv 1-D",
       [] {
         return std::make_unique<Conv<double>>(Shape{1}, Shape{2, 3}, 2);
       },
       {2, 2, 6}},
      {"Conv with a fused ReLU",
       [] {
         auto layer = std::make_unique<Conv<double>>(Shape{1}, Shape{2, 3, 3}, 3);
         layer->set_fused_relu(true);
         return layer;
       },
       {2, 2, 5, 4}},
      {"FullyConnected", [] { return std::make_unique<FullyConnected<double>>(4, 3); }, {3, 4}},
      {"ReLU", [] { return std::make_unique<ReLU<double>>(); }, {3, 5}},
      {"SoftMax", [] { return std::make_unique<SoftMax<double>>(); }, {3, 4}},
      {"Pooling",
       [] { return std::make_unique<Pooling<double>>(Shape{2}, Shape{2}); },
       {2, 2, 4, 6}},
      {"Pooling overlapping",
       [] { return std::make_unique<Pooling<double>>(Shape{1}, Shape{2}); },
       {1, 2, 4, 5}},
      {"Flatten", [] { return std::make_unique<Flatten<double>>(); }, {2, 3, 2, 2}},
      {"Pooling 1-D",
       [] { return std::make_unique<Pooling<double>>(Shape{2}, Shape{3}); },
       {2, 2, 7}},
      {"Sigmoid", [] { return std::make_unique<Sigmoid<double>>(); }, {3, 5}},
      {"TanH", [] { return std::make_unique<TanH<double>>(); }, {2, 3, 4}},
      {"LeakyReLU", [] { return std::make_unique<LeakyReLU<double>>(0.2); }, {3, 5}},
      // Its mask is fixed by the step context, the same in every forward() of the check.
      {"Dropout", [] { return std::make_unique<Dropout<double>>(0.4); }, {3, 5}},
      {"Normalize",
       [] {
         return std::make_unique<Normalize<double>>(std::vector<double>{0.5, -1.0},
                                                    std::vector<double>{2.0, 0.25});
       },
       {2, 2, 3, 2}},
      {"AveragePooling",
       [] {
         return std::make_unique<AveragePooling<double>>(Shape{2, 1}, Shape{3, 2});
       },
       {2, 2, 5, 4}},
      {"AveragePooling 1-D",
       [] { return std::make_unique<AveragePooling<double>>(Shape{1}, Shape{2}); },
       {2, 2, 5}},
      {"GlobalAveragePooling",
       [] { return std::make_unique<GlobalAveragePooling<double>>(); },
       {2, 3, 2, 3}},
      {"BatchNorm features", [] { return std::make_unique<BatchNorm<double>>(4); }, {3, 4}},
      {"BatchNorm channels", [] { return std::make_unique<BatchNorm<double>>(2); }, {2, 2, 3, 2}},
      {"BatchNorm with a fused ReLU",
       [] {
         auto layer = std::make_unique<BatchNorm<double>>(2);
         layer->set_fused_relu(true);
         return layer;
       },
       {2, 2, 3, 2}},
      // The merge layers' single-input forms (the identity); their list forms are in
      // merge_layers_test.cpp.
      {"Add", [] { return std::make_unique<Add<double>>(); }, {2, 3, 2}},
      {"Add with a fused ReLU",
       [] {
         auto layer = std::make_unique<Add<double>>();
         layer->set_fused_relu(true);
         return layer;
       },
       {2, 3, 2}},
      {"Concat", [] { return std::make_unique<Concat<double>>(); }, {2, 3, 2}},
  };
}

void PrintTo(const BuiltInCase& c, std::ostream* out) {
  *out << c.name;
}

class BuiltInLayer : public ::testing::TestWithParam<BuiltInCase> {};

TEST_P(BuiltInLayer, PassesCheckLayer) {
  const std::unique_ptr<Layer<double>> layer = GetParam().make();
  const LayerCheckResult result = check_layer(*layer, random_input(GetParam().input_shape));
  EXPECT_TRUE(result.passed()) << result.report();
  EXPECT_FALSE(result.gradients.entries.empty());
}

TEST_P(BuiltInLayer, BackwardNeedsAFreshForwardOnTheConstForms) {
  const std::unique_ptr<Layer<double>> layer = GetParam().make();
  const Tensor<double> input = random_input(GetParam().input_shape);
  const Tensor<double> error_tensor(layer->output_shape(input.shape()), 0.5);
  const std::string type = layer->type();
  expect_throw_with<std::logic_error>([&] { (void)layer->backward(error_tensor); },
                                      {type, "forward() before backward()", "backward() first"});
  (void)layer->forward(input);
  (void)layer->backward(error_tensor);
  expect_throw_with<std::logic_error>(
      [&] { (void)layer->backward(error_tensor); },
      {type, "fresh forward() before backward()", "a second backward() after one forward()"});
  // A fresh forward() allows one backward() again.
  (void)layer->forward(input);
  (void)layer->backward(error_tensor);
}

TEST_P(BuiltInLayer, BackwardWithWrongArgumentsLeavesTheForwardFresh) {
  const std::unique_ptr<Layer<double>> layer = GetParam().make();
  const Tensor<double> input = random_input(GetParam().input_shape);
  const Shape out_shape = layer->output_shape(input.shape());
  (void)layer->forward(input);
  Shape wrong = out_shape;
  wrong[0] += 1;
  EXPECT_THROW((void)layer->backward(Tensor<double>(wrong)), std::invalid_argument);
  (void)layer->backward(Tensor<double>(out_shape, 0.5));
}

INSTANTIATE_TEST_SUITE_P(CheckLayer, BuiltInLayer, ::testing::ValuesIn(built_in_cases()),
                         [](const ::testing::TestParamInfo<BuiltInCase>& info) {
                           std::string name = info.param.name;
                           for (char& c : name) {
                             if (c == ' ' || c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace cnnkit
