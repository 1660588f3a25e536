// A ReLU fused into the BatchNorm or Add before it (BatchNorm::set_fused_relu,
// Add::set_fused_relu, Graph::set_relu_fusion; into a Conv: conv_relu_fusion_test.cpp), and at
// inference into the Conv its BatchNorm is folded into, against the layers run one after the other:
// the same outputs, input errors and gradients to the bit, in training and inference, on float
// and double; gradient checks through the fused graph; the graph hands a borrowed layer back
// unfused.
#include <gtest/gtest.h>

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/graph.hpp"
#include "cnnkit/layers/add.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/random.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::cast_tensor;
using testing::random_tensor;
using testing::three_labels;
using testing::zero_share;

template <typename T>
BatchNorm<T> batch_norm_with_parameters(std::size_t channels) {
  BatchNorm<T> norm(channels);
  norm.parameters()[0]->value = cast_tensor<T>(random_tensor({channels}, 0.5, 2, 1));
  norm.parameters()[1]->value = cast_tensor<T>(random_tensor({channels}, -1, 1, 2));
  return norm;
}

template <typename T>
void check_batch_norm_fused_against_the_pair(const Shape& shape) {
  SCOPED_TRACE(to_string(shape));
  const std::size_t channels = shape[1];
  const Tensor<T> input = cast_tensor<T>(random_tensor(shape, -2, 3, 3));
  const Tensor<T> error = cast_tensor<T>(random_tensor(shape, -1, 1, 4));
  BatchNorm<T> norm = batch_norm_with_parameters<T>(channels);
  ReLU<T> relu;
  BatchNorm<T> fused = batch_norm_with_parameters<T>(channels);
  fused.set_fused_relu(true);

  const Tensor<T> expected = relu.forward(norm.forward(input));
  const Tensor<T> output = fused.forward(input);
  EXPECT_EQ(output, expected);
  EXPECT_GT(zero_share(output), 0.2);
  const Tensor<T> expected_error = norm.backward(relu.backward(error));
  EXPECT_EQ(fused.backward(error), expected_error);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(fused.parameters()[k]->gradient, norm.parameters()[k]->gradient) << k;
  }
  EXPECT_EQ(fused.running_mean(), norm.running_mean());
  EXPECT_EQ(fused.running_var(), norm.running_var());

  // Inference: the running statistics, then the ReLU.
  norm.set_testing_phase(true);
  relu.set_testing_phase(true);
  fused.set_testing_phase(true);
  EXPECT_EQ(fused.forward(input), relu.forward(norm.forward(input)));
}

TEST(ReluFusion, BatchNormFusedGivesThePairsValuesToTheBit) {
  // Planes shorter and longer than the kernels' 16 partial sums, with a tail, and a large one
  // that the loops split among threads.
  for (const Shape& shape :
       {Shape{6, 3}, Shape{3, 2, 5, 7}, Shape{4, 3, 9, 9}, Shape{8, 4, 32, 32}}) {
    check_batch_norm_fused_against_the_pair<float>(shape);
    check_batch_norm_fused_against_the_pair<double>(shape);
  }
}

TEST(ReluFusion, BatchNormFusedPassesAGradientCheck) {
  L2Loss<double> loss;
  for (const Shape& shape : {Shape{5, 3}, Shape{2, 2, 3, 3}}) {
    BatchNorm<double> norm = batch_norm_with_parameters<double>(shape[1]);
    norm.set_fused_relu(true);
    const GradientCheckResult result = gradient_check<double>(
        {&norm}, loss, random_tensor(shape, -2, 3, 5), random_tensor(shape, -1, 1, 6));
    EXPECT_EQ(result.entries.size(), 3u) << to_string(shape);  // input, scale, shift
    EXPECT_LT(result.worst(), 1e-6) << to_string(shape);
  }
}

template <typename T>
void check_add_fused_against_the_pair(const Shape& shape, std::size_t count) {
  SCOPED_TRACE(to_string(shape) + ", " + std::to_string(count) + " inputs");
  std::vector<Tensor<T>> values;
  std::vector<const Tensor<T>*> inputs;
  for (std::size_t k = 0; k < count; ++k) {
    values.push_back(cast_tensor<T>(random_tensor(shape, -2, 2, 7 + static_cast<unsigned>(k))));
  }
  for (const Tensor<T>& value : values) inputs.push_back(&value);
  const std::span<const Tensor<T>* const> view(inputs);
  const Tensor<T> error = cast_tensor<T>(random_tensor(shape, -1, 1, 20));
  Add<T> add;
  ReLU<T> relu;
  Add<T> fused;
  fused.set_fused_relu(true);
  const Tensor<T> expected = relu.forward(add.forward(view));
  const Tensor<T> output = fused.forward(view);
  EXPECT_EQ(output, expected);
  EXPECT_GT(zero_share(output), 0.2);
  std::vector<Tensor<T>> expected_errors(count), errors(count);
  add.backward(relu.backward(error), std::span<Tensor<T>>(expected_errors));
  fused.backward(Tensor<T>(error), std::span<Tensor<T>>(errors));
  for (std::size_t k = 0; k < count; ++k) EXPECT_EQ(errors[k], expected_errors[k]) << k;

  add.set_testing_phase(true);
  relu.set_testing_phase(true);
  fused.set_testing_phase(true);
  EXPECT_EQ(fused.forward(view), relu.forward(add.forward(view)));
}

TEST(ReluFusion, AddFusedGivesThePairsValuesToTheBit) {
  // Small, and large enough (2 * 8 * 64 * 64 elements) for the loops to start a team; two inputs
  // (one loop) and three (the sums, then the ReLU, per block).
  for (const Shape& shape : {Shape{3, 5}, Shape{2, 8, 64, 64}}) {
    for (const std::size_t count : {std::size_t{2}, std::size_t{3}}) {
      check_add_fused_against_the_pair<float>(shape, count);
      check_add_fused_against_the_pair<double>(shape, count);
    }
  }
}

// A residual block with batch normalisation, W4's pattern: conv -> BN -> ReLU -> conv -> BN,
// + the block's input, Add -> ReLU, then a head. `norms` receives the BatchNorm layers.
template <typename T>
std::unique_ptr<Graph<T>> residual_graph(std::vector<BatchNorm<T>*>& norms,
                                         std::vector<Add<T>*>& adds) {
  set_seed(21);
  auto graph = std::make_unique<Graph<T>>();
  UniformRandom<T> weights;
  UniformRandom<T> bias;
  const auto conv = [&] {
    auto layer = std::make_unique<Conv<T>>(Shape{1}, Shape{2, 3, 3}, 2);
    layer->initialize(weights, bias);
    return layer;
  };
  const auto norm = [&] {
    auto layer = std::make_unique<BatchNorm<T>>(batch_norm_with_parameters<T>(2));
    norms.push_back(layer.get());
    return layer;
  };
  graph->add("conv1", conv(), {"input"});
  graph->add("bn1", norm(), {"conv1"});
  graph->add("relu1", std::make_unique<ReLU<T>>(), {"bn1"});
  graph->add("conv2", conv(), {"relu1"});
  graph->add("bn2", norm(), {"conv2"});
  auto add = std::make_unique<Add<T>>();
  adds.push_back(add.get());
  graph->add("add", std::move(add), {"bn2", "input"});
  graph->add("relu2", std::make_unique<ReLU<T>>(), {"add"});
  graph->add("flatten", std::make_unique<Flatten<T>>(), {"relu2"});
  auto fc = std::make_unique<FullyConnected<T>>(2 * 5 * 5, 3);
  fc->initialize(weights, bias);
  graph->add("fc", std::move(fc), {"flatten"});
  graph->add("softmax", std::make_unique<SoftMax<T>>(), {"fc"});
  return graph;
}

template <typename T>
void check_graph_fused_against_unfused() {
  std::vector<BatchNorm<T>*> norms, plain_norms;
  std::vector<Add<T>*> adds, plain_adds;
  const auto fused = residual_graph<T>(norms, adds);
  const auto plain = residual_graph<T>(plain_norms, plain_adds);
  plain->set_relu_fusion(false);
  const Tensor<T> input = cast_tensor<T>(random_tensor({4, 2, 5, 5}, -1, 1, 10));
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
  // The first BatchNorm and the Add took the ReLU; the second BatchNorm has the Add as reader.
  EXPECT_TRUE(norms[0]->fused_relu());
  EXPECT_FALSE(norms[1]->fused_relu());
  EXPECT_TRUE(adds[0]->fused_relu());
  EXPECT_FALSE(plain_norms[0]->fused_relu());
  EXPECT_FALSE(plain_adds[0]->fused_relu());
  // Inference with the BatchNorms folded into their Convs (the first BatchNorm's ReLU then runs
  // in conv1 while infer() runs, and goes back to the BatchNorm after) and without.
  const auto& conv1 = dynamic_cast<const Conv<T>&>(fused->layer(0));
  for (const bool fold : {true, false}) {
    SCOPED_TRACE(fold ? "folded" : "not folded");
    fused->set_batch_norm_folding(fold);
    plain->set_batch_norm_folding(fold);
    bool conv1_fused = !fold;
    fused->set_observer([&](std::size_t node, bool) {
      if (node == 0) conv1_fused = conv1.fused_relu();
    });
    EXPECT_EQ(fused->infer(input), plain->infer(input));
    EXPECT_EQ(conv1_fused, fold);
    EXPECT_FALSE(conv1.fused_relu());
    EXPECT_TRUE(norms[0]->fused_relu());
    fused->set_observer(nullptr);
  }
}

TEST(ReluFusion, AGraphGivesTheValuesOfTheUnfusedGraphToTheBit) {
  check_graph_fused_against_unfused<float>();
  check_graph_fused_against_unfused<double>();
}

TEST(ReluFusion, AFusedResidualBlockPassesAGradientCheck) {
  std::vector<BatchNorm<double>*> norms;
  std::vector<Add<double>*> adds;
  const auto graph = residual_graph<double>(norms, adds);
  const Tensor<double> label = three_labels();
  CrossEntropyLoss<double> loss;
  // (Seed 12 gave a fully connected weight with a gradient so close to 0 that the difference
  // quotient's rounding made 2e-6 of it, fused or not.)
  const GradientCheckResult result =
      gradient_check<double>(*graph, loss, random_tensor({3, 2, 5, 5}, -1, 1, 15), label);
  EXPECT_TRUE(norms[0]->fused_relu());
  EXPECT_TRUE(adds[0]->fused_relu());
  ASSERT_EQ(result.entries.size(), 11u);  // the input, 2 per Conv, BatchNorm and FullyConnected
  for (const GradientCheckEntry& entry : result.entries) {
    EXPECT_LT(entry.max_relative_error, 1e-6) << entry.what;
  }
}

TEST(ReluFusion, AGraphHandsABorrowedLayerBackUnfused) {
  BatchNorm<float> norm(2);
  ReLU<float> relu;
  {
    Graph<float> graph;
    graph.add("bn", norm, {"input"});
    graph.add("relu", relu, {"bn"});
    const Tensor<float> input = cast_tensor<float>(random_tensor({3, 2, 4}, -1, 1, 13));
    const Tensor<float> output = graph.forward(Tensor<float>(input));
    EXPECT_TRUE(norm.fused_relu());
    EXPECT_GT(zero_share(output), 0.2);
    graph.set_relu_fusion(false);
    EXPECT_EQ(graph.forward(Tensor<float>(input)), output);
    EXPECT_FALSE(norm.fused_relu());
    graph.set_relu_fusion(true);
    EXPECT_EQ(graph.forward(Tensor<float>(input)), output);
    EXPECT_TRUE(norm.fused_relu());
  }
  EXPECT_FALSE(norm.fused_relu());
}

}  // namespace
}  // namespace cnnkit
