// Inference with BatchNorm folded into the Conv before it (batch_norm_folding.hpp, Graph::infer)
// against the unfolded reference (Graph::set_batch_norm_folding(false)) on random batch
// statistics, in float and double; the folded BatchNorm does not run; the folding follows
// training's changes to the weights and statistics, and set_weights; the Conv keeps its own
// values outside infer(); a Conv whose output has a second reader is not folded.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "cnnkit/graph.hpp"
#include "cnnkit/layers/add.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/optimizers.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::random_tensor;

// A BatchNorm that counts its forward passes (handed over, or by const& where the graph's
// value has a later reader).
template <typename T>
class CountingBatchNorm : public BatchNorm<T> {
 public:
  using BatchNorm<T>::BatchNorm;
  using BatchNorm<T>::forward;
  int forwards = 0;

  Tensor<T> forward(const Tensor<T>& input) override {
    ++forwards;
    return BatchNorm<T>::forward(input);
  }

 protected:
  Tensor<T> forward_handed_over(Tensor<T>&& input) override {
    ++forwards;
    return BatchNorm<T>::forward_handed_over(std::move(input));
  }
};

// Random scale, shift and running statistics, far from the identity.
template <typename T>
void randomise(BatchNorm<T>& norm, unsigned seed) {
  const std::size_t c = norm.channels();
  norm.parameters()[0]->value = testing::cast_tensor<T>(random_tensor({c}, 0.5, 2, seed));
  norm.parameters()[1]->value = testing::cast_tensor<T>(random_tensor({c}, -1, 1, seed + 1));
  *norm.buffers()[0].value = testing::cast_tensor<T>(random_tensor({c}, -0.5, 0.5, seed + 2));
  *norm.buffers()[1].value = testing::cast_tensor<T>(random_tensor({c}, 0.2, 3, seed + 3));
}

// conv (1 -> 4, 3x3) -> bn -> relu -> conv (4 -> 6, 3x3, stride 2) -> bn: two foldable pairs.
template <typename T>
struct Net {
  Graph<T> graph;
  Conv<T>* conv1;
  Conv<T>* conv2;
  CountingBatchNorm<T>* norm1;
  CountingBatchNorm<T>* norm2;

  Net() {
    auto c1 = std::make_unique<Conv<T>>(Shape{1}, Shape{1, 3, 3}, 4);
    auto n1 = std::make_unique<CountingBatchNorm<T>>(4);
    auto c2 = std::make_unique<Conv<T>>(Shape{2}, Shape{4, 3, 3}, 6);
    auto n2 = std::make_unique<CountingBatchNorm<T>>(6);
    conv1 = c1.get();
    conv2 = c2.get();
    norm1 = n1.get();
    norm2 = n2.get();
    randomise(*norm1, 10);
    randomise(*norm2, 20);
    graph.append(std::move(c1)).append(std::move(n1)).append(std::make_unique<ReLU<T>>());
    graph.append(std::move(c2)).append(std::move(n2));
  }
};

// |a - b| <= tolerance (|b| + rms(b)) element by element.
template <typename T>
void expect_close(const Tensor<T>& actual, const Tensor<T>& expected, double tolerance) {
  ASSERT_EQ(actual.shape(), expected.shape());
  double squares = 0;
  for (const T v : expected) squares += static_cast<double>(v) * static_cast<double>(v);
  const double rms = std::sqrt(squares / static_cast<double>(expected.size()));
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double b = static_cast<double>(expected[i]);
    EXPECT_NEAR(static_cast<double>(actual[i]), b, tolerance * (std::abs(b) + rms)) << i;
  }
}

template <typename T>
Tensor<T> unfolded_inference(Graph<T>& graph, const Tensor<T>& input) {
  graph.set_batch_norm_folding(false);
  Tensor<T> output = graph.infer(input);
  graph.set_batch_norm_folding(true);
  return output;
}

template <typename T>
void check_folded_equals_unfolded(double tolerance) {
  Net<T> net;
  const Tensor<T> input = testing::cast_tensor<T>(random_tensor({3, 1, 9, 11}, -1, 2, 1));
  const Tensor<T> weights = net.conv1->weights();
  const Tensor<T> bias = net.conv2->bias();
  const Tensor<T> folded = net.graph.infer(input);
  // Folded: neither BatchNorm ran, and the Convs hold their own values again.
  EXPECT_EQ(net.norm1->forwards, 0);
  EXPECT_EQ(net.norm2->forwards, 0);
  EXPECT_EQ(net.conv1->weights(), weights);
  EXPECT_EQ(net.conv2->bias(), bias);
  const Tensor<T> unfolded = unfolded_inference(net.graph, input);
  EXPECT_EQ(net.norm1->forwards, 1);
  EXPECT_EQ(net.norm2->forwards, 1);
  expect_close(folded, unfolded, tolerance);
  // A second call reuses the folded values.
  EXPECT_EQ(net.graph.infer(input), folded);
}

TEST(BatchNormFolding, FoldedInferenceEqualsUnfoldedFloat) {
  check_folded_equals_unfolded<float>(1e-5);
}
TEST(BatchNormFolding, FoldedInferenceEqualsUnfoldedDouble) {
  check_folded_equals_unfolded<double>(1e-12);
}

TEST(BatchNormFolding, FollowsTrainingAndSetWeights) {
  Net<float> net;
  for (Layer<float>* layer : net.graph.layers()) layer->set_optimizer(Sgd<float>(0.05f));
  const Tensor<float> input = testing::cast_tensor<float>(random_tensor({3, 1, 9, 11}, -1, 2, 1));
  const Tensor<float> before = net.graph.infer(input);
  // One training step moves the weights, scale and shift, and the running statistics.
  L2Loss<float> loss;
  const Tensor<float> label = testing::cast_tensor<float>(random_tensor({3, 6, 5, 6}, -1, 1, 2));
  (void)loss.forward(net.graph.forward(Tensor<float>(input)), label);
  (void)net.graph.backward(loss.backward(label));
  net.graph.update();
  const Tensor<float> after = net.graph.infer(input);
  const Tensor<float> reference = unfolded_inference(net.graph, input);
  expect_close(after, reference, 1e-5);
  // The step changed the prediction by far more than the tolerance: stale folded weights fail.
  double change = 0;
  for (std::size_t i = 0; i < after.size(); ++i) change += std::abs(after[i] - before[i]);
  EXPECT_GT(change / static_cast<double>(after.size()), 1e-3);

  Tensor<float> weights = net.conv2->weights();
  for (float& w : weights) w *= -0.5f;
  net.conv2->set_weights(weights);
  expect_close(net.graph.infer(input), unfolded_inference(net.graph, input), 1e-5);
}

TEST(BatchNormFolding, ConvWithASecondReaderIsNotFolded) {
  // conv -> bn -> add(bn, conv): the conv's raw output is needed too.
  Graph<float> graph;
  graph.add("conv", std::make_unique<Conv<float>>(Shape{1}, Shape{2, 3, 3}, 2), {"input"});
  auto norm = std::make_unique<CountingBatchNorm<float>>(2);
  randomise(*norm, 30);
  CountingBatchNorm<float>& counted = *norm;
  graph.add("bn", std::move(norm), {"conv"});
  graph.add("add", std::make_unique<Add<float>>(), {"bn", "conv"});
  const Tensor<float> input = testing::cast_tensor<float>(random_tensor({2, 2, 5, 5}, -1, 1, 3));
  const Tensor<float> output = graph.infer(input);
  EXPECT_EQ(counted.forwards, 1);
  testing::expect_bitwise_equal(output, unfolded_inference(graph, input));
}

}  // namespace
}  // namespace cnnkit
