// Every bad argument of the Conv layer: the exception type and a message that names "Conv",
// what was expected and the shape that came.
#include <gtest/gtest.h>

#include <stdexcept>

#include "cnnkit/layers/conv.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::expect_throw_with;

TEST(ConvErrors, ZeroKernels) {
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1}, {1, 3, 3}, 0);
      },
      {"Conv", "at least one kernel", "num_kernels 0"});
}

TEST(ConvErrors, ZeroChannelOrKernelSize) {
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1}, {0, 3, 3}, 2);
      },
      {"Conv", "nonzero", "[0, 3, 3]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1}, {2, 3, 0}, 2);
      },
      {"Conv", "nonzero", "[2, 3, 0]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<double>({1}, {2, 0}, 2);
      },
      {"Conv", "nonzero", "[2, 0]"});
}

TEST(ConvErrors, ZeroStride) {
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({0}, {1, 3, 3}, 2);
      },
      {"Conv", "nonzero strides", "[0]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1, 0}, {1, 3, 3}, 2);
      },
      {"Conv", "nonzero strides", "[1, 0]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<double>({0}, {1, 3}, 2);
      },
      {"Conv", "nonzero strides", "[0]"});
}

TEST(ConvErrors, ConvolutionShapeOfWrongRank) {
  expect_throw_with<std::invalid_argument>([] { Conv<float>({1}, {3}, 2); },
                                           {"Conv", "{c, m} (1-D) or {c, m, n} (2-D)", "[3]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1}, {1, 3, 3, 3}, 2);
      },
      {"Conv", "{c, m} (1-D) or {c, m, n} (2-D)", "[1, 3, 3, 3]"});
  expect_throw_with<std::invalid_argument>([] { Conv<float>({1}, {}, 2); },
                                           {"Conv", "convolution shape", "[]"});
}

TEST(ConvErrors, StrideShapeThatDoesNotFit) {
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1, 1}, {2, 3}, 2);
      },
      {"Conv", "1-D", "[1, 1]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({}, {2, 3}, 2);
      },
      {"Conv", "1-D", "stride shape []"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1, 1, 1}, {2, 3, 3}, 2);
      },
      {"Conv", "2-D", "[1, 1, 1]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({}, {2, 3, 3}, 2);
      },
      {"Conv", "2-D", "stride shape []"});
}

TEST(ConvErrors, InputOfWrongRank) {
  Conv<float> two_d({1}, {3, 3, 3}, 2);
  expect_throw_with<std::invalid_argument>(
      [&] {
        two_d.forward(Tensor<float>({2, 3, 5}));
      },
      {"Conv", "rank 4", "[2, 3, 5]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        two_d.output_shape({2, 3, 5, 5, 1});
      },
      {"Conv", "rank 4", "[2, 3, 5, 5, 1]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        two_d.forward_flops({3, 5});
      },
      {"Conv", "rank 4", "[3, 5]"});
  Conv<float> one_d({1}, {3, 3}, 2);
  expect_throw_with<std::invalid_argument>(
      [&] {
        one_d.forward(Tensor<float>({2, 3, 5, 5}));
      },
      {"Conv", "rank 3", "[2, 3, 5, 5]"});
}

TEST(ConvErrors, InputWithWrongChannelCount) {
  Conv<double> two_d({1}, {3, 3, 3}, 2);
  expect_throw_with<std::invalid_argument>(
      [&] {
        two_d.forward(Tensor<double>({2, 4, 5, 5}));
      },
      {"Conv", "3 channels", "[2, 4, 5, 5]"});
  Conv<double> one_d({2}, {2, 3}, 2);
  expect_throw_with<std::invalid_argument>(
      [&] {
        one_d.forward(Tensor<double>({2, 1, 7}));
      },
      {"Conv", "2 channels", "[2, 1, 7]"});
}

TEST(ConvErrors, InputWithoutSpatialExtent) {
  Conv<float> layer({1}, {1, 3, 3}, 2);
  expect_throw_with<std::invalid_argument>(
      [&] {
        layer.forward(Tensor<float>({2, 1, 0, 4}));
      },
      {"Conv", "nonzero spatial", "[2, 1, 0, 4]"});
}

TEST(ConvErrors, ErrorTensorOfWrongShape) {
  Conv<double> layer({2}, {1, 3, 3}, 2);
  layer.forward(Tensor<double>({2, 1, 5, 6}));  // output (2, 2, 3, 3)
  expect_throw_with<std::invalid_argument>(
      [&] {
        layer.backward(Tensor<double>({2, 2, 5, 6}));
      },
      {"Conv", "error tensor of shape [2, 2, 3, 3]", "[2, 2, 5, 6]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        layer.backward(Tensor<double>({2, 2, 3}));
      },
      {"Conv", "[2, 2, 3, 3]", "[2, 2, 3]"});
}

TEST(ConvErrors, BackwardBeforeForward) {
  Conv<float> layer({1}, {1, 3, 3}, 2);
  expect_throw_with<std::logic_error>(
      [&] {
        layer.backward(Tensor<float>({1, 2, 4, 4}));
      },
      {"Conv", "forward() before backward()"});
}

TEST(ConvErrors, SetWeightsOrBiasOfWrongShape) {
  Conv<float> layer({1}, {2, 3, 3}, 4);
  expect_throw_with<std::invalid_argument>(
      [&] {
        layer.set_weights(Tensor<float>({4, 2, 3}));
      },
      {"Conv", "weights of shape [4, 2, 3, 3]", "[4, 2, 3]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        layer.set_bias(Tensor<float>({1, 4}));
      },
      {"Conv", "bias of shape [4]", "[1, 4]"});
  // The failed calls changed nothing.
  EXPECT_EQ(layer.weights().shape(), (Shape{4, 2, 3, 3}));
  EXPECT_EQ(layer.bias().shape(), (Shape{4}));
}

TEST(ConvErrors, ParametersReshapedFromOutsideAreRefused) {
  // parameters() hands out the tensors themselves; the kernels must never see a wrong shape.
  Conv<double> layer({1}, {1, 3, 3}, 2);
  const Tensor<double> input({1, 1, 4, 4}, 1.0);
  layer.parameters()[0]->value = Tensor<double>({2, 9});
  expect_throw_with<std::invalid_argument>([&] { layer.forward(input); },
                                           {"Conv", "weights of shape [2, 1, 3, 3]", "[2, 9]"});
  layer.set_weights(Tensor<double>({2, 1, 3, 3}, 1.0));
  layer.parameters()[1]->value = Tensor<double>({3});
  expect_throw_with<std::invalid_argument>([&] { layer.forward(input); },
                                           {"Conv", "bias of shape [2]", "[3]"});
  layer.set_bias(Tensor<double>({2}, 0.5));
  // A gradient tensor of another shape is rebuilt before backward() writes it.
  layer.parameters()[0]->gradient = Tensor<double>({1});
  layer.forward(input);
  layer.backward(Tensor<double>({1, 2, 4, 4}, 1.0));
  // Each tap of the all-ones error over a 4x4 image of ones counts the positions where that tap
  // lands inside the image: 3 * 3 for a corner tap, 3 * 4 for an edge tap, 4 * 4 for the centre.
  EXPECT_EQ(layer.gradient_weights(),
            Tensor<double>({2, 1, 3, 3}, std::vector<double>{9, 12, 9, 12, 16, 12, 9, 12, 9,  //
                                                             9, 12, 9, 12, 16, 12, 9, 12, 9}));
}

}  // namespace
}  // namespace cnnkit
