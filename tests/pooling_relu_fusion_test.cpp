// A ReLU fused into the max Pooling after it (Pooling::set_fused_relu, and Graph::set_relu_fusion
// for Conv -> ReLU -> Pooling, W5's and W6's pattern) against the pair run one after the other:
// the same outputs and input errors to the bit in training and inference, float and double, on
// odd shapes (1-D and 2-D, overlapping and skipping windows, the SIMD 2x2 and 1-D pair windows),
// on 1 and 2 threads (the pair's gradient checks: pooling_test.cpp, activation_layers_test.cpp).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "cnnkit/graph.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/pooling.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"
#include "layer_test_helpers.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit {
namespace {

using testing::cast_tensor;
using testing::random_tensor;
using testing::zero_share;

struct Case {
  Shape input, stride, window;
};

template <typename T>
void check_pooling_fused_against_the_pair(const Case& c) {
  SCOPED_TRACE(to_string(c.input) + " window " + to_string(c.window) + " stride " +
               to_string(c.stride));
  // Mostly negative values: many windows with every value below 0, whose errors the pair's ReLU
  // stops.
  const Tensor<T> input = cast_tensor<T>(random_tensor(c.input, -3, 1, 3));
  ReLU<T> relu;
  Pooling<T> pooling(c.stride, c.window);
  Pooling<T> fused(c.stride, c.window);
  fused.set_fused_relu(true);
  const Tensor<T> expected = pooling.forward(relu.forward(input));
  const Tensor<T> output = fused.forward(input);
  EXPECT_EQ(output, expected);
  EXPECT_GT(zero_share(output), 0.05);
  EXPECT_LT(zero_share(output), 0.9);
  const Tensor<T> error = cast_tensor<T>(random_tensor(output.shape(), -1, 1, 4));
  const Tensor<T> expected_error = relu.backward(pooling.backward(error));
  EXPECT_EQ(fused.backward(error), expected_error);

  relu.set_testing_phase(true);
  pooling.set_testing_phase(true);
  fused.set_testing_phase(true);
  EXPECT_EQ(fused.forward(input), pooling.forward(relu.forward(input)));
}

TEST(PoolingReluFusion, GivesThePairsValuesToTheBit) {
  const testing::ThreadCountGuard guard;
  // 2x2 stride 2 (the SIMD windows) on odd sizes, overlapping 3x3 stride 2, a window skipping
  // values (2x2 stride 3), 1-D pairs (SIMD) and 1-D window 3 stride 2, and one large enough for
  // the loops to split the planes among threads.
  const std::vector<Case> cases{{{2, 3, 7, 9}, {2, 2}, {2, 2}}, {{3, 2, 9, 8}, {2, 2}, {3, 3}},
                                {{2, 2, 8, 7}, {3, 3}, {2, 2}}, {{3, 4, 23}, {2}, {2}},
                                {{2, 3, 17}, {2}, {3}},         {{8, 16, 30, 30}, {2, 2}, {2, 2}}};
  for (const std::size_t threads : {1, 2}) {
    set_num_threads(threads);
    SCOPED_TRACE(threads);
    for (const Case& c : cases) {
      check_pooling_fused_against_the_pair<float>(c);
      check_pooling_fused_against_the_pair<double>(c);
    }
  }
}

// W6's pattern: Conv -> ReLU -> Pooling twice, then a head.
template <typename T>
std::unique_ptr<Graph<T>> conv_relu_pool_graph(std::vector<Pooling<T>*>& poolings) {
  set_seed(23);
  auto graph = std::make_unique<Graph<T>>();
  UniformRandom<T> weights;
  UniformRandom<T> bias;
  const auto conv = [&](std::size_t in, std::size_t out) {
    auto layer = std::make_unique<Conv<T>>(Shape{1}, Shape{in, 3, 3}, out);
    layer->initialize(weights, bias);
    return layer;
  };
  const auto pool = [&] {
    auto layer = std::make_unique<Pooling<T>>(Shape{2, 2}, Shape{2, 2});
    poolings.push_back(layer.get());
    return layer;
  };
  graph->append(conv(2, 3)).append(std::make_unique<ReLU<T>>()).append(pool());
  graph->append(conv(3, 2)).append(std::make_unique<ReLU<T>>()).append(pool());
  graph->append(std::make_unique<Flatten<T>>());
  auto fc = std::make_unique<FullyConnected<T>>(2 * 2 * 2, 3);
  fc->initialize(weights, bias);
  graph->append(std::move(fc)).append(std::make_unique<SoftMax<T>>());
  return graph;
}

template <typename T>
void check_graph_fused_against_unfused() {
  std::vector<Pooling<T>*> poolings, plain_poolings;
  const auto fused = conv_relu_pool_graph<T>(poolings);
  const auto plain = conv_relu_pool_graph<T>(plain_poolings);
  plain->set_relu_fusion(false);
  fused->set_input_error_needed(true);
  plain->set_input_error_needed(true);
  const Tensor<T> input = cast_tensor<T>(random_tensor({4, 2, 9, 9}, -1, 1, 10));
  const Tensor<T> error = cast_tensor<T>(random_tensor({4, 3}, -1, 1, 11));
  for (int step = 0; step < 2; ++step) {
    SCOPED_TRACE(step);
    EXPECT_EQ(fused->forward(Tensor<T>(input)), plain->forward(Tensor<T>(input)));
    EXPECT_EQ(fused->backward(Tensor<T>(error)), plain->backward(Tensor<T>(error)));
    ASSERT_EQ(fused->parameters().size(), plain->parameters().size());
    for (std::size_t k = 0; k < fused->parameters().size(); ++k) {
      EXPECT_EQ(fused->parameters()[k]->gradient, plain->parameters()[k]->gradient) << k;
    }
  }
  EXPECT_TRUE(poolings[0]->fused_relu());
  EXPECT_TRUE(poolings[1]->fused_relu());
  EXPECT_FALSE(plain_poolings[0]->fused_relu());
  // Inference: the Convs compute the ReLUs, and the Poolings take them back after.
  bool pooling_fused = true;
  fused->set_observer([&](std::size_t node, bool) {
    if (node == 2) pooling_fused = poolings[0]->fused_relu();
  });
  EXPECT_EQ(fused->infer(input), plain->infer(input));
  EXPECT_FALSE(pooling_fused);
  EXPECT_TRUE(poolings[0]->fused_relu());
  fused->set_observer(nullptr);
  fused->set_relu_fusion(false);
  EXPECT_EQ(fused->forward(Tensor<T>(input)), plain->forward(Tensor<T>(input)));
  EXPECT_FALSE(poolings[0]->fused_relu());
}

TEST(PoolingReluFusion, AGraphGivesTheValuesOfTheUnfusedGraphToTheBit) {
  check_graph_fused_against_unfused<float>();
  check_graph_fused_against_unfused<double>();
}

}  // namespace
}  // namespace cnnkit
