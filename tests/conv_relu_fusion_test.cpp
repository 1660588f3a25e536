// A ReLU fused into the Conv before it (Conv::set_fused_relu; Graph::infer fuses it,
// Graph::set_relu_fusion(false) not) against the two layers run one after the other: the same
// outputs, input errors and gradients to the bit, in training and inference, on float and
// double, on 1 to 4 threads, over geometries that take every path of the forward kernels
// (pixel-vector, planar and channel-blocked output-vector blocks, pixel pairs, samples split
// among threads by kernel groups and rows, depthwise and grouped, im2col + GEMM); gradient checks
// through a fused Conv and a graph holding one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/graph.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/pooling.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"
#include "kernels/conv2d_fast.hpp"
#include "kernels/elementwise.hpp"
#include "layer_test_helpers.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit {
namespace {

using testing::cast_tensor;
using testing::random_tensor;
using testing::three_labels;
using testing::zero_share;

// A convolution and its input: input (N, C, Y[, X]), stride, convolution shape, kernels, groups.
struct ConvCase {
  Shape input;
  Shape stride;
  Shape convolution;
  std::size_t kernels;
  std::size_t groups = 1;
  std::string what;
};

std::vector<ConvCase> conv_cases() {
  return {
      {{2, 1, 28, 28}, {1}, {1, 5, 5}, 6, 1, "W1 conv1 (pixel-vector)"},
      {{3, 6, 14, 14}, {1}, {6, 5, 5}, 16, 1, "W1 conv2"},
      {{2, 5, 4, 33}, {1}, {5, 3, 3}, 96, 1, "planar output, three groups"},
      {{2, 8, 7, 7}, {1}, {8, 3, 3}, 24, 1, "channel-blocked scratch"},
      {{2, 5, 6, 6}, {1}, {5, 3, 3}, 24, 1, "pixel pairs"},
      {{2, 3, 7, 6}, {1}, {3, 3, 3}, 20, 1, "pixel pairs, kernels padded to the block"},
      {{5, 16, 12, 14}, {2}, {16, 3, 3}, 32, 1, "stride 2 read in place"},
      {{1, 32, 20, 20}, {2}, {32, 4, 4}, 256, 1, "one sample, kernel groups split"},
      {{1, 16, 24, 30}, {1}, {16, 3, 3}, 40, 1, "one sample split, pixel-vector"},
      {{1, 16, 20, 17}, {1}, {16, 3, 3}, 48, 1, "one sample split, channel-blocked scratch"},
      {{1, 16, 20, 18}, {1}, {16, 3, 3}, 48, 1, "one sample split, pixel pairs"},
      {{2, 8, 30, 30}, {3}, {8, 5, 5}, 64, 1, "two samples split, stride 3"},
      {{2, 17, 6, 7}, {2, 3}, {17, 1, 1}, 33, 1, "1x1 strided"},
      {{2, 8, 9, 9}, {1}, {8, 3, 3}, 8, 8, "depthwise"},
      {{2, 8, 9, 9}, {1}, {8, 3, 3}, 12, 2, "two groups"},
      {{4, 1, 40}, {1}, {1, 9}, 16, 1, "1-D, W5's first layer"},
      {{3, 16, 33}, {2}, {16, 5}, 24, 1, "1-D, stride 2"},
  };
}

template <typename T>
Conv<T> conv_with_parameters(const ConvCase& c) {
  ConvOptions options;
  options.groups = c.groups;
  Conv<T> conv(c.stride, c.convolution, c.kernels, options);
  // Weights and bias of both signs: the ReLU cuts about half of the outputs.
  conv.set_weights(cast_tensor<T>(random_tensor(conv.weights().shape(), -1, 1, 31)));
  conv.set_bias(cast_tensor<T>(random_tensor({c.kernels}, -0.5, 0.5, 32)));
  return conv;
}

template <typename T>
void check_conv_fused_against_the_pair(const ConvCase& c, std::size_t threads) {
  SCOPED_TRACE(c.what + ", " + std::to_string(threads) + " threads");
  set_num_threads(threads);
  const Tensor<T> input = cast_tensor<T>(random_tensor(c.input, -1, 1, 33));
  Conv<T> conv = conv_with_parameters<T>(c);
  ReLU<T> relu;
  Conv<T> fused = conv_with_parameters<T>(c);
  fused.set_fused_relu(true);

  const Tensor<T> expected = relu.forward(conv.forward(input));
  const Tensor<T> output = fused.forward(input);
  EXPECT_EQ(output, expected);
  EXPECT_GT(zero_share(output), 0.2);
  const Tensor<T> error = cast_tensor<T>(random_tensor(output.shape(), -1, 1, 34));
  const Tensor<T> expected_error = conv.backward(relu.backward(error));
  EXPECT_EQ(fused.backward(error), expected_error);
  EXPECT_EQ(fused.gradient_weights(), conv.gradient_weights());
  EXPECT_EQ(fused.gradient_bias(), conv.gradient_bias());
  // The handed-over forms (what the graph calls): the mask applied to the error in place.
  EXPECT_EQ(fused.forward(Tensor<T>(input)), expected);
  EXPECT_EQ(fused.backward(Tensor<T>(error)), expected_error);
  EXPECT_EQ(fused.gradient_weights(), conv.gradient_weights());

  // Inference keeps no mask.
  conv.set_testing_phase(true);
  relu.set_testing_phase(true);
  fused.set_testing_phase(true);
  EXPECT_EQ(fused.forward(input), relu.forward(conv.forward(input)));
}

TEST(ConvReluFusion, ConvFusedGivesThePairsValuesToTheBit) {
  const testing::ThreadCountGuard guard;
  for (const ConvCase& c : conv_cases()) {
    for (const std::size_t threads : {1, 2, 3, 4}) {
      check_conv_fused_against_the_pair<float>(c, threads);
      check_conv_fused_against_the_pair<double>(c, threads);
    }
  }
}

// The fast kernels' epilogue at every instruction-set level this CPU runs (the layer tests run
// the widest only): max(0, y) in the planar blocks' registers or after the other blocks' stores,
// and the mask, against the plain forward followed by ReLU's loop.
TEST(ConvReluFusion, FastKernelsEpilogueAtEveryLevel) {
  using kernels::ConvEpilogue;
  using kernels::ConvGeometry;
  using runtime::SimdLevel;
  const testing::ThreadCountGuard guard;
  // {N, C, Y, X, K, m, n, sy, sx}: pixel-vector; planar; planar pairs; channel-blocked pairs;
  // one sample split among threads (planar, then channel-blocked); 1-D.
  const std::vector<ConvGeometry> geometries = {
      {2, 1, 28, 28, 6, 5, 5, 1, 1},    {2, 5, 4, 33, 96, 3, 3, 1, 1},
      {2, 3, 64, 64, 16, 5, 5, 2, 2},   {2, 16, 28, 28, 16, 3, 3, 1, 1},
      {1, 32, 20, 20, 256, 4, 4, 2, 2}, {1, 16, 20, 17, 48, 3, 3, 1, 1},
      {3, 40, 98, 1, 64, 3, 1, 1, 1}};
  for (const SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    if (level > runtime::best_simd_level()) continue;
    for (const ConvGeometry& g : geometries) {
      for (const std::size_t threads : {1, 3}) {
        SCOPED_TRACE(std::to_string(static_cast<int>(level)) + ": " + std::to_string(g.batch) +
                     "x" + std::to_string(g.channels) + "x" + std::to_string(g.in_y) + "x" +
                     std::to_string(g.in_x) + " -> " + std::to_string(g.kernels) + ", " +
                     std::to_string(threads) + " threads");
        set_num_threads(threads);
        Tensor<float> input = cast_tensor<float>(random_tensor({g.input_size()}, -1, 1, 51));
        // A NaN makes NaN outputs around it, which ReLU maps to 0 (max(y, 0) does, max(0, y)
        // would not).
        input.data()[g.input_size() / 2] = std::nanf("");
        const Tensor<float> weights =
            cast_tensor<float>(random_tensor({g.weights_size()}, -1, 1, 52));
        const Tensor<float> bias = cast_tensor<float>(random_tensor({g.kernels}, -1, 1, 53));
        std::vector<float> workspace, expected(g.output_size()), output(g.output_size());
        ASSERT_TRUE(kernels::conv2d_forward_fast(g, input.data(), weights.data(), bias.data(),
                                                 expected.data(), workspace, level));
        std::vector<std::uint8_t> expected_passes(expected.size()), passes(expected.size(), 7);
        kernels::relu_forward(expected.data(), expected.data(), expected_passes.data(),
                              expected.size());
        for (std::uint8_t* mask : {static_cast<std::uint8_t*>(nullptr), passes.data()}) {
          std::fill(output.begin(), output.end(), std::nanf(""));
          ASSERT_TRUE(kernels::conv2d_forward_fast(g, input.data(), weights.data(), bias.data(),
                                                   output.data(), workspace, level,
                                                   ConvEpilogue{.relu = true, .passes = mask}));
          // To the bit (== would take -0 for +0).
          EXPECT_EQ(std::memcmp(output.data(), expected.data(), output.size() * sizeof(float)), 0)
              << (mask != nullptr ? "with the mask" : "without");
        }
        EXPECT_EQ(passes, expected_passes);
      }
    }
  }
}

TEST(ConvReluFusion, ConvFusedPassesAGradientCheck) {
  L2Loss<double> loss;
  for (const ConvCase& c : {ConvCase{{2, 2, 5, 4}, {1}, {2, 3, 3}, 3, 1, "2-D"},
                            ConvCase{{2, 2, 7}, {2}, {2, 3}, 3, 1, "1-D"}}) {
    Conv<double> conv = conv_with_parameters<double>(c);
    conv.set_fused_relu(true);
    const Shape output_shape = conv.output_shape(c.input);
    const GradientCheckResult result = gradient_check<double>(
        {&conv}, loss, random_tensor(c.input, -1, 1, 35), random_tensor(output_shape, -1, 1, 36));
    EXPECT_EQ(result.entries.size(), 3u) << c.what;  // input, weights, bias
    EXPECT_LT(result.worst(), 1e-6) << c.what;
  }
}

// W6's pattern (Conv -> ReLU -> MaxPool, twice; 1-D: W5's Conv1d -> ReLU), then a head.
// `convs` receives the Conv layers.
template <typename T>
std::unique_ptr<Graph<T>> conv_relu_graph(bool two_d, std::vector<Conv<T>*>& convs) {
  set_seed(41);
  auto graph = std::make_unique<Graph<T>>();
  UniformRandom<T> bias;
  UniformRandom<T> weights;
  std::string previous = "input";
  std::size_t channels = 2, length = 8;
  for (std::size_t block = 0; block < 2; ++block) {
    const std::string name = std::to_string(block);
    Shape convolution = two_d ? Shape{channels, 3, 3} : Shape{channels, 3};
    auto conv = std::make_unique<Conv<T>>(Shape{1}, convolution, 4);
    conv->initialize(weights, bias);
    conv->set_weights(cast_tensor<T>(random_tensor(conv->weights().shape(), -1, 1, 42 + block)));
    convs.push_back(conv.get());
    graph->add("conv" + name, std::move(conv), {previous});
    graph->add("relu" + name, std::make_unique<ReLU<T>>(), {"conv" + name});
    graph->add("pool" + name,
               std::make_unique<Pooling<T>>(two_d ? Shape{2, 2} : Shape{2},
                                            two_d ? Shape{2, 2} : Shape{2}),
               {"relu" + name});
    previous = "pool" + name;
    channels = 4;
    length /= 2;
  }
  graph->add("flatten", std::make_unique<Flatten<T>>(), {previous});
  auto fc = std::make_unique<FullyConnected<T>>(4 * length * (two_d ? length : 1), 3);
  fc->initialize(weights, bias);
  graph->add("fc", std::move(fc), {"flatten"});
  graph->add("softmax", std::make_unique<SoftMax<T>>(), {"fc"});
  return graph;
}

template <typename T>
void check_conv_graph_fused_against_unfused(bool two_d, std::size_t threads) {
  SCOPED_TRACE(std::string(two_d ? "2-D, " : "1-D, ") + std::to_string(threads) + " threads");
  set_num_threads(threads);
  std::vector<Conv<T>*> convs, plain_convs;
  const auto fused = conv_relu_graph<T>(two_d, convs);
  const auto plain = conv_relu_graph<T>(two_d, plain_convs);
  plain->set_relu_fusion(false);
  // The first Conv's input error too (else unspecified values).
  fused->set_input_error_needed(true);
  plain->set_input_error_needed(true);
  const Shape input_shape = two_d ? Shape{5, 2, 8, 8} : Shape{5, 2, 8};
  const Tensor<T> input = cast_tensor<T>(random_tensor(input_shape, -1, 1, 43));
  const Tensor<T> error = cast_tensor<T>(random_tensor({5, 3}, -1, 1, 44));
  for (int step = 0; step < 2; ++step) {
    SCOPED_TRACE(step);
    EXPECT_EQ(fused->forward(Tensor<T>(input)), plain->forward(Tensor<T>(input)));
    EXPECT_EQ(fused->backward(Tensor<T>(error)), plain->backward(Tensor<T>(error)));
    ASSERT_EQ(fused->parameters().size(), plain->parameters().size());
    for (std::size_t k = 0; k < fused->parameters().size(); ++k) {
      EXPECT_EQ(fused->parameters()[k]->gradient, plain->parameters()[k]->gradient) << k;
    }
  }
  // Training runs the ReLUs on their own; infer() runs them in the Convs, then turns that off.
  std::vector<char> fused_in_infer(convs.size(), 0);
  fused->set_observer([&](std::size_t, bool) {
    for (std::size_t k = 0; k < convs.size(); ++k) {
      if (convs[k]->fused_relu()) fused_in_infer[k] = 1;
    }
  });
  for (std::size_t k = 0; k < convs.size(); ++k) EXPECT_FALSE(convs[k]->fused_relu()) << k;
  EXPECT_EQ(fused->infer(input), plain->infer(input));
  for (std::size_t k = 0; k < convs.size(); ++k) {
    EXPECT_TRUE(fused_in_infer[k]) << k;
    EXPECT_FALSE(convs[k]->fused_relu()) << k;
    EXPECT_FALSE(plain_convs[k]->fused_relu()) << k;
  }
  fused->set_observer(nullptr);
  // A training step after inference: the ReLUs on their own again.
  EXPECT_EQ(fused->forward(Tensor<T>(input)), plain->forward(Tensor<T>(input)));
  EXPECT_EQ(fused->backward(Tensor<T>(error)), plain->backward(Tensor<T>(error)));
}

TEST(ConvReluFusion, AGraphGivesTheValuesOfTheUnfusedGraphToTheBit) {
  const testing::ThreadCountGuard guard;
  for (const std::size_t threads : {1, 2, 3, 4}) {
    for (const bool two_d : {true, false}) {
      check_conv_graph_fused_against_unfused<float>(two_d, threads);
      check_conv_graph_fused_against_unfused<double>(two_d, threads);
    }
  }
}

TEST(ConvReluFusion, AGraphWithAFusedConvPassesAGradientCheck) {
  // The graph leaves a Conv's own fused ReLU alone (it turns one on only in infer()).
  for (const bool two_d : {true, false}) {
    const Shape input_shape = two_d ? Shape{3, 2, 5, 4} : Shape{3, 2, 7};
    const ConvCase c{input_shape, {1}, two_d ? Shape{2, 3, 3} : Shape{2, 3}, 3, 1, ""};
    auto conv = std::make_unique<Conv<double>>(conv_with_parameters<double>(c));
    conv->set_fused_relu(true);
    const std::size_t features = element_count(conv->output_shape(input_shape)) / 3;
    Graph<double> graph;
    graph.add("conv", std::move(conv), {"input"});
    graph.add("flatten", std::make_unique<Flatten<double>>(), {"conv"});
    graph.add("fc", std::make_unique<FullyConnected<double>>(features, 3), {"flatten"});
    graph.add("softmax", std::make_unique<SoftMax<double>>(), {"fc"});
    const Tensor<double> label = three_labels();
    CrossEntropyLoss<double> loss;
    const GradientCheckResult result =
        gradient_check<double>(graph, loss, random_tensor(input_shape, -1, 1, 45), label);
    EXPECT_TRUE(dynamic_cast<Conv<double>&>(graph.layer(0)).fused_relu());
    ASSERT_EQ(result.entries.size(), 5u);  // the input, 2 per Conv and FullyConnected
    for (const GradientCheckEntry& entry : result.entries) {
      EXPECT_LT(entry.max_relative_error, 1e-6) << entry.what;
    }
  }
}

}  // namespace
}  // namespace cnnkit
