// The Conv layer's forward pass: output shapes for strides, uneven images, 1-D signals, 1x1 and
// even kernels, and values checked by hand or against the direct loops of conv_test_helpers.hpp.
#include "cnnkit/layers/conv.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <vector>

#include "cnnkit/random.hpp"
#include "conv_test_helpers.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::direct_conv1d;
using testing::direct_conv2d;
using testing::expect_tensor_near;
using testing::random_tensor;

// Gives the layer random weights and bias in [-1, 1] and returns them.
template <typename T>
void randomize(Conv<T>& layer, std::mt19937& engine) {
  layer.set_weights(random_tensor<T>(layer.weights().shape(), engine));
  layer.set_bias(random_tensor<T>(layer.bias().shape(), engine));
}

TEST(Conv, StridedShapeAndValues) {
  // Input 10x14, stride {3, 2}, kernel 5x3: ceil(10/3) x ceil(14/2) = 4 x 7.
  Conv<double> layer({3, 2}, {2, 5, 3}, 4);
  EXPECT_EQ(layer.output_shape({2, 2, 10, 14}), (Shape{2, 4, 4, 7}));
  std::mt19937 engine(1);
  randomize(layer, engine);
  const Tensor<double> input = random_tensor<double>({2, 2, 10, 14}, engine);
  const Tensor<double> output = layer.forward(input);
  EXPECT_EQ(output.shape(), (Shape{2, 4, 4, 7}));
  expect_tensor_near(output, direct_conv2d(input, layer.weights(), layer.bias(), 3, 2), 1e-12);
}

TEST(Conv, SingleStrideValueMeansBothAxes) {
  Conv<double> layer({2}, {1, 3, 3}, 2);
  EXPECT_EQ(layer.output_shape({1, 1, 7, 5}), (Shape{1, 2, 4, 3}));  // uneven image 7x5
  std::mt19937 engine(2);
  randomize(layer, engine);
  const Tensor<double> input = random_tensor<double>({3, 1, 7, 5}, engine);
  expect_tensor_near(layer.forward(input),
                     direct_conv2d(input, layer.weights(), layer.bias(), 2, 2), 1e-12);
}

TEST(Conv, UnevenImagesStrideOne) {
  Conv<float> layer({1, 1}, {3, 3, 5}, 2);
  std::mt19937 engine(3);
  randomize(layer, engine);
  const Tensor<float> input = random_tensor<float>({2, 3, 5, 9}, engine);
  const Tensor<float> output = layer.forward(input);
  EXPECT_EQ(output.shape(), (Shape{2, 2, 5, 9}));  // "same": the spatial size is kept
  expect_tensor_near(output, direct_conv2d(input, layer.weights(), layer.bias(), 1, 1), 1e-5);
}

TEST(Conv, OneDimensionalWithStride) {
  // (batch, c, y) = (2, 2, 11), kernel {2, 4}, stride 3: ceil(11/3) = 4 outputs per map.
  Conv<double> layer({3}, {2, 4}, 3);
  EXPECT_EQ(layer.weights().shape(), (Shape{3, 2, 4}));
  EXPECT_EQ(layer.output_shape({2, 2, 11}), (Shape{2, 3, 4}));
  std::mt19937 engine(4);
  randomize(layer, engine);
  const Tensor<double> input = random_tensor<double>({2, 2, 11}, engine);
  const Tensor<double> output = layer.forward(input);
  EXPECT_EQ(output.shape(), (Shape{2, 3, 4}));
  expect_tensor_near(output, direct_conv1d(input, layer.weights(), layer.bias(), 3), 1e-12);
}

TEST(Conv, OneDimensionalByHand) {
  // x = [1 2 3 4 5], w = [1 2 3], bias 0.5, stride 2, padding 1 each side:
  // [0*1 + 1*2 + 2*3, 2*1 + 3*2 + 4*3, 4*1 + 5*2 + 0*3] + 0.5 = [8.5, 20.5, 14.5].
  Conv<double> layer({2}, {1, 3}, 1);
  layer.set_weights(Tensor<double>({1, 1, 3}, std::vector<double>{1, 2, 3}));
  layer.set_bias(Tensor<double>({1}, std::vector<double>{0.5}));
  const Tensor<double> output =
      layer.forward(Tensor<double>({1, 1, 5}, std::vector<double>{1, 2, 3, 4, 5}));
  EXPECT_EQ(output, Tensor<double>({1, 1, 3}, std::vector<double>{8.5, 20.5, 14.5}));
}

TEST(Conv, CentreOfMiddleChannelReproducesThatChannel) {
  // One kernel of 3 channels, 3x3, with a single 1 at channel 1, tap (1, 1): the output is
  // channel 1 of the input, exactly (every other product is an exact zero).
  Conv<float> layer({1, 1}, {3, 3, 3}, 1);
  Tensor<float> weights({1, 3, 3, 3});
  weights(0, 1, 1, 1) = 1.0f;
  layer.set_weights(weights);
  layer.set_bias(Tensor<float>({1}));
  std::mt19937 engine(5);
  const Tensor<float> input = random_tensor<float>({2, 3, 5, 6}, engine);
  const Tensor<float> output = layer.forward(input);
  ASSERT_EQ(output.shape(), (Shape{2, 1, 5, 6}));
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t y = 0; y < 5; ++y)
      for (std::size_t x = 0; x < 6; ++x) EXPECT_EQ(output(b, 0, y, x), input(b, 1, y, x));
}

TEST(Conv, SmoothingKernelByHand) {
  // (1/15) [[1,2,1],[2,3,2],[1,2,1]] on a 4x5 image with one zero of padding. The numerators
  // were summed by hand neighbourhood by neighbourhood (e.g. corner (0,0):
  // 3*1 + 2*2 + 2*0 + 1*1 = 8) and re-checked with a separate Python loop.
  Conv<float> layer({1}, {1, 3, 3}, 1);
  Tensor<float> kernel({1, 1, 3, 3}, std::vector<float>{1, 2, 1, 2, 3, 2, 1, 2, 1});
  for (float& w : kernel) w /= 15.0f;
  layer.set_weights(kernel);
  layer.set_bias(Tensor<float>({1}));
  const Tensor<float> image({1, 1, 4, 5}, std::vector<float>{1, 2, 0, 3, 1,  //
                                                             0, 1, 4, 2, 0,  //
                                                             2, 0, 1, 1, 3,  //
                                                             1, 3, 0, 2, 1});
  Tensor<float> expected({1, 1, 4, 5}, std::vector<float>{8,  14, 21, 19, 11,  //
                                                          10, 19, 26, 27, 16,  //
                                                          12, 19, 21, 24, 17,  //
                                                          13, 14, 13, 14, 14});
  for (float& v : expected) v /= 15.0f;
  expect_tensor_near(layer.forward(image), expected, 1e-6);
}

TEST(Conv, EvenKernelTwoByTwoPadsAfter) {
  // 2x2 ones: padding 0 before, 1 after, so out[i][j] sums x[i..i+1][j..j+1] inside the image.
  Conv<double> layer({1}, {1, 2, 2}, 1);
  layer.set_weights(Tensor<double>({1, 1, 2, 2}, 1.0));
  layer.set_bias(Tensor<double>({1}));
  const Tensor<double> image({1, 1, 3, 3}, std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(layer.forward(image),
            Tensor<double>({1, 1, 3, 3},
                           std::vector<double>{1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 3 + 6, 4 + 5 + 7 + 8,
                                               5 + 6 + 8 + 9, 6 + 9, 7 + 8, 8 + 9, 9}));
}

TEST(Conv, EvenKernelFourByFourPadsOneBeforeTwoAfter) {
  // 4x4 ones: out[i][j] sums x[i-1..i+2][j-1..j+2] inside the 3x3 image (total 45).
  // Rows 0 and 1 see all rows, row 2 only rows 1-2 (4+5+6+7+8+9 = 39); likewise columns.
  Conv<double> layer({1}, {1, 4, 4}, 1);
  layer.set_weights(Tensor<double>({1, 1, 4, 4}, 1.0));
  layer.set_bias(Tensor<double>({1}));
  const Tensor<double> image({1, 1, 3, 3}, std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(layer.forward(image), Tensor<double>({1, 1, 3, 3}, std::vector<double>{45, 45, 33,  //
                                                                                   45, 45, 33,  //
                                                                                   39, 39, 28}));
  EXPECT_EQ(layer.output_shape({2, 1, 8, 6}), (Shape{2, 1, 8, 6}));
}

TEST(Conv, StrideLargerThanKernelSubsamples) {
  // A centre-picking 3x3 kernel with stride {4, 5} on 9x11 reads x[4i][5j]: 3 x 3 outputs.
  Conv<double> layer({4, 5}, {1, 3, 3}, 1);
  Tensor<double> kernel({1, 1, 3, 3});
  kernel(0, 0, 1, 1) = 1.0;
  layer.set_weights(kernel);
  layer.set_bias(Tensor<double>({1}, 0.25));
  std::mt19937 engine(6);
  const Tensor<double> input = random_tensor<double>({1, 1, 9, 11}, engine);
  const Tensor<double> output = layer.forward(input);
  ASSERT_EQ(output.shape(), (Shape{1, 1, 3, 3}));
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      EXPECT_DOUBLE_EQ(output(0, 0, i, j), input(0, 0, 4 * i, 5 * j) + 0.25);
}

TEST(Conv, BiasAddsOneValuePerKernel) {
  Conv<double> layer({1, 2}, {2, 3, 3}, 2);
  std::mt19937 engine(7);
  const Tensor<double> input = random_tensor<double>({2, 2, 4, 5}, engine);
  // Zero weights: every output map is its kernel's bias.
  layer.set_weights(Tensor<double>({2, 2, 3, 3}));
  layer.set_bias(Tensor<double>({2}, std::vector<double>{0.5, -2.0}));
  const Tensor<double> constant = layer.forward(input);
  ASSERT_EQ(constant.shape(), (Shape{2, 2, 4, 3}));
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t p = 0; p < 12; ++p) {
      EXPECT_EQ(constant[(b * 2 + 0) * 12 + p], 0.5);
      EXPECT_EQ(constant[(b * 2 + 1) * 12 + p], -2.0);
    }
  // Random weights: the bias shifts map k by bias[k] and nothing else.
  layer.set_weights(random_tensor<double>({2, 2, 3, 3}, engine));
  layer.set_bias(Tensor<double>({2}));
  const Tensor<double> without = layer.forward(input);
  layer.set_bias(Tensor<double>({2}, std::vector<double>{0.5, -2.0}));
  const Tensor<double> with = layer.forward(input);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t k = 0; k < 2; ++k)
      for (std::size_t p = 0; p < 12; ++p) {
        const std::size_t at = (b * 2 + k) * 12 + p;
        EXPECT_NEAR(with[at] - without[at], k == 0 ? 0.5 : -2.0, 1e-12);
      }
}

TEST(Conv, OneByOneIsFullyConnectedAlongChannels) {
  // Lecture: "1x1 Convolutions ... equal to applying a fully connected layer along the
  // channels": out[b,k,y,x] = bias[k] + sum_c W[k,c] x[b,c,y,x].
  Conv<double> layer({1, 1}, {3, 1, 1}, 4);
  std::mt19937 engine(8);
  randomize(layer, engine);
  const Tensor<double> input = random_tensor<double>({2, 3, 4, 5}, engine);
  const Tensor<double> output = layer.forward(input);
  ASSERT_EQ(output.shape(), (Shape{2, 4, 4, 5}));
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t k = 0; k < 4; ++k)
      for (std::size_t y = 0; y < 4; ++y)
        for (std::size_t x = 0; x < 5; ++x) {
          double expected = layer.bias()(k);
          for (std::size_t c = 0; c < 3; ++c)
            expected += layer.weights()(k, c, 0, 0) * input(b, c, y, x);
          EXPECT_NEAR(output(b, k, y, x), expected, 1e-12);
        }
}

TEST(Conv, OneByOneWithStrideSubsamplesTheChannelMix) {
  Conv<double> layer({2, 3}, {3, 1, 1}, 2);
  std::mt19937 engine(9);
  randomize(layer, engine);
  const Tensor<double> input = random_tensor<double>({1, 3, 5, 7}, engine);
  const Tensor<double> output = layer.forward(input);
  ASSERT_EQ(output.shape(), (Shape{1, 2, 3, 3}));
  expect_tensor_near(output, direct_conv2d(input, layer.weights(), layer.bias(), 2, 3), 1e-12);
}

TEST(Conv, ForwardFlopsCountsEveryMultiplyAdd) {
  // W3 case b: 2 * N*K*C*m*n*Y'*X' = 2 * 64*16*6*5*5*14*14.
  const Conv<float> layer({1}, {6, 5, 5}, 16);
  EXPECT_EQ(layer.forward_flops({64, 6, 14, 14}), std::size_t{2} * 64 * 16 * 6 * 25 * 196);
  // Strided: 7x8 with stride 2 gives 4x4 outputs.
  const Conv<float> strided({2}, {3, 3, 3}, 4);
  EXPECT_EQ(strided.forward_flops({2, 3, 7, 8}), std::size_t{2} * 2 * 4 * 3 * 9 * 16);
  // 1-D: 2 * N*K*C*m*Y'.
  const Conv<float> one_d({3}, {2, 4}, 5);
  EXPECT_EQ(one_d.forward_flops({3, 2, 10}), std::size_t{2} * 3 * 5 * 2 * 4 * 4);
}

TEST(Conv, ConstructorDrawsUniformWeightsFromTheSeededEngine) {
  set_seed(42);
  const Conv<double> first({1}, {8, 5, 5}, 16);
  set_seed(42);
  const Conv<double> second({1}, {8, 5, 5}, 16);
  EXPECT_EQ(first.weights(), second.weights());
  EXPECT_EQ(first.bias(), second.bias());
  EXPECT_EQ(first.stride_shape(), (Shape{1}));
  EXPECT_EQ(first.convolution_shape(), (Shape{8, 5, 5}));
  EXPECT_EQ(first.num_kernels(), 16u);
  EXPECT_EQ(first.parameter_count(), 16u * 8 * 25 + 16);
  // 3200 draws from U[0, 1): all inside, mean 0.5 with standard error 0.29 / sqrt(3200) = 0.005.
  double sum = 0;
  for (const double w : first.weights()) {
    EXPECT_GE(w, 0.0);
    EXPECT_LT(w, 1.0);
    sum += w;
  }
  EXPECT_NEAR(sum / double(first.weights().size()), 0.5, 0.03);
  for (const double b : first.bias()) {
    EXPECT_GE(b, 0.0);
    EXPECT_LT(b, 1.0);
  }
  set_seed(43);
  const Conv<double> third({1}, {8, 5, 5}, 16);
  EXPECT_NE(first.weights(), third.weights());
}

TEST(Conv, RepeatedForwardGivesTheSameOutput) {
  // The layer reuses its workspace between calls; batch size changes must not leak old data.
  Conv<float> layer({2, 1}, {2, 3, 3}, 3);
  std::mt19937 engine(10);
  const Tensor<float> big = random_tensor<float>({4, 2, 6, 7}, engine);
  const Tensor<float> small = random_tensor<float>({1, 2, 6, 7}, engine);
  const Tensor<float> first = layer.forward(small);
  layer.forward(big);
  EXPECT_EQ(layer.forward(small), first);
}

}  // namespace
}  // namespace cnnkit
