// The testing phase (inference): forward() gives the training phase's output bit for bit but keeps
// nothing for backward(); NeuralNetwork::test switches it on and restores every layer's phase.
// Also: the fully connected layer's threaded products equal the single-threaded ones bit for bit.
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include "cnnkit/initializers.hpp"
#include "cnnkit/layer.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/pooling.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/neural_network.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"
#include "layer_test_helpers.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit {
namespace {

using testing::expect_bitwise_equal;
using testing::LayerCase;

using testing::expect_throw_with;

using testing::ThreadCountGuard;

// Values in [-1, 1) (both signs, so ReLU and max pooling have real work).
Tensor<float> random_tensor(const Shape& shape, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  Tensor<float> tensor(shape);
  for (float& value : tensor) value = uniform(engine);
  return tensor;
}

std::vector<LayerCase> layer_cases() {
  return {
      {"Conv",
       [] {
         return std::unique_ptr<Layer<float>>(new Conv<float>({1}, {2, 3, 3}, 3));
       },
       {2, 2, 6, 5}},
      {"ReLU", [] { return std::unique_ptr<Layer<float>>(new ReLU<float>()); }, {3, 7}},
      {"Pooling",
       [] { return std::unique_ptr<Layer<float>>(new Pooling<float>({2}, {2})); },
       {2, 3, 4, 6}},
      {"FullyConnected",
       [] { return std::unique_ptr<Layer<float>>(new FullyConnected<float>(5, 4)); },
       {3, 5}},
  };
}

TEST(TestingPhase, DefaultsToTrainingAndSwitches) {
  ReLU<float> relu;
  EXPECT_FALSE(relu.testing_phase());
  relu.set_testing_phase(true);
  EXPECT_TRUE(relu.testing_phase());
  relu.set_testing_phase(false);
  EXPECT_FALSE(relu.testing_phase());
}

TEST(TestingPhase, ForwardEqualsTrainingForwardBitForBit) {
  for (const LayerCase& c : layer_cases()) {
    SCOPED_TRACE(c.name);
    set_seed(7);
    const std::unique_ptr<Layer<float>> layer = c.make();
    const Tensor<float> input = random_tensor(c.input_shape, 11);
    const Tensor<float> training = layer->forward(input);
    layer->set_testing_phase(true);
    const Tensor<float> testing = layer->forward(input);
    expect_bitwise_equal(testing, training);
  }
}

TEST(TestingPhase, BackwardAfterTestingForwardThrows) {
  for (const LayerCase& c : layer_cases()) {
    SCOPED_TRACE(c.name);
    const std::unique_ptr<Layer<float>> layer = c.make();
    const Tensor<float> input = random_tensor(c.input_shape, 3);
    const Shape out_shape = layer->output_shape(c.input_shape);
    // A training forward first: the testing forward must drop what it kept, not leave it stale.
    (void)layer->forward(input);
    layer->set_testing_phase(true);
    (void)layer->forward(input);
    expect_throw_with<std::logic_error>([&] { (void)layer->backward(Tensor<float>(out_shape)); },
                                        {c.name, "forward() before backward()", "training phase"});
  }
}

TEST(TestingPhase, TrainingForwardAfterwardsBackpropagatesAsBefore) {
  for (const LayerCase& c : layer_cases()) {
    SCOPED_TRACE(c.name);
    set_seed(5);
    const std::unique_ptr<Layer<float>> fresh = c.make();
    set_seed(5);
    const std::unique_ptr<Layer<float>> switched = c.make();
    const Tensor<float> input = random_tensor(c.input_shape, 17);
    const Tensor<float> error = random_tensor(fresh->output_shape(c.input_shape), 19);

    (void)fresh->forward(input);
    const Tensor<float> expected = fresh->backward(error);

    switched->set_testing_phase(true);
    (void)switched->forward(random_tensor(c.input_shape, 23));
    switched->set_testing_phase(false);
    (void)switched->forward(input);
    expect_bitwise_equal(switched->backward(error), expected);
  }
}

std::unique_ptr<NeuralNetwork<float>> small_network() {
  set_seed(3);
  auto net =
      std::make_unique<NeuralNetwork<float>>(Sgd<float>(0.01F), He<float>(), Constant<float>(0.1F));
  net->append_layer(std::make_unique<Conv<float>>(Shape{1}, Shape{1, 3, 3}, 2));
  net->append_layer(std::make_unique<ReLU<float>>());
  net->append_layer(std::make_unique<Pooling<float>>(Shape{2}, Shape{2}));
  return net;
}

TEST(TestingPhase, NetworkTestMatchesLayerForwardAndRestoresPhases) {
  const std::unique_ptr<NeuralNetwork<float>> net = small_network();
  const Tensor<float> input = random_tensor({2, 1, 6, 6}, 29);
  // The training-phase prediction, layer by layer.
  Tensor<float> expected = input;
  for (const auto& layer : net->layers()) expected = layer->forward(expected);

  // A layer the caller had put in the testing phase stays there; the others return to training.
  net->layers()[1]->set_testing_phase(true);
  expect_bitwise_equal(net->test(input), expected);
  EXPECT_FALSE(net->layers()[0]->testing_phase());
  EXPECT_TRUE(net->layers()[1]->testing_phase());
  EXPECT_FALSE(net->layers()[2]->testing_phase());
  // test() kept nothing: backward through the conv layer now has no training forward.
  expect_throw_with<std::logic_error>(
      [&] {
        (void)net->layers()[0]->backward(Tensor<float>({2, 2, 6, 6}));
      },
      {"Conv", "training phase"});
}

TEST(TestingPhase, ScopeRestoresPhasesWhenForwardThrows) {
  const std::unique_ptr<NeuralNetwork<float>> net = small_network();
  EXPECT_THROW((void)net->test(Tensor<float>({2, 3, 6, 6})), std::invalid_argument);
  for (const auto& layer : net->layers()) EXPECT_FALSE(layer->testing_phase());
}

// Forward and backward of one FullyConnected layer on `threads` threads.
struct FcResult {
  Tensor<float> output;
  Tensor<float> input_error;
  Tensor<float> gradient;  // weights then the bias row
};

FcResult run_fully_connected(std::size_t threads, std::size_t batch, std::size_t in,
                             std::size_t out) {
  set_num_threads(threads);
  set_seed(13);
  FullyConnected<float> layer(in, out);
  FcResult result;
  result.output = layer.forward(random_tensor({batch, in}, 31));
  result.input_error = layer.backward(random_tensor({batch, out}, 37));
  result.gradient = layer.gradient_weights();
  return result;
}

// Sizes large enough that every product is split across two threads (> 100k multiply-adds per
// thread), with odd row counts so the blocks differ in size.
TEST(FullyConnectedThreads, TwoThreadsEqualOneThreadBitForBit) {
  const ThreadCountGuard guard;
  const std::size_t batch = 67, in = 301, out = 45;
  const FcResult serial = run_fully_connected(1, batch, in, out);
  const FcResult serial_again = run_fully_connected(1, batch, in, out);
  const FcResult threaded = run_fully_connected(2, batch, in, out);
  const FcResult threaded_again = run_fully_connected(2, batch, in, out);
  expect_bitwise_equal(serial_again.output, serial.output);
  expect_bitwise_equal(threaded.output, serial.output);
  expect_bitwise_equal(threaded_again.output, threaded.output);
  expect_bitwise_equal(threaded.input_error, serial.input_error);
  expect_bitwise_equal(threaded_again.input_error, threaded.input_error);
  expect_bitwise_equal(threaded.gradient, serial.gradient);
  expect_bitwise_equal(threaded_again.gradient, threaded.gradient);
}

// The threaded products hold real values: y = x W + b, E W^T and x^T E by plain double loops.
TEST(FullyConnectedThreads, TwoThreadsMatchPlainLoops) {
  const ThreadCountGuard guard;
  const std::size_t batch = 67, in = 301, out = 45;
  set_num_threads(2);
  set_seed(13);
  FullyConnected<float> layer(in, out);
  const Tensor<float> w = layer.weights();  // (in + 1, out), bias last
  const Tensor<float> x = random_tensor({batch, in}, 31);
  const Tensor<float> e = random_tensor({batch, out}, 37);
  const Tensor<float> y = layer.forward(x);
  const Tensor<float> input_error = layer.backward(e);
  const Tensor<float> gradient = layer.gradient_weights();

  for (std::size_t n = 0; n < batch; ++n) {
    for (std::size_t j = 0; j < out; ++j) {
      double sum = w(in, j);
      for (std::size_t i = 0; i < in; ++i) sum += double(x(n, i)) * double(w(i, j));
      EXPECT_NEAR(y(n, j), sum, 1e-4) << "y at " << n << ", " << j;
    }
    for (std::size_t i = 0; i < in; ++i) {
      double sum = 0;
      for (std::size_t j = 0; j < out; ++j) sum += double(e(n, j)) * double(w(i, j));
      EXPECT_NEAR(input_error(n, i), sum, 1e-4) << "E_{n-1} at " << n << ", " << i;
    }
  }
  for (std::size_t i = 0; i < in; ++i) {
    for (std::size_t j = 0; j < out; ++j) {
      double sum = 0;
      for (std::size_t n = 0; n < batch; ++n) sum += double(x(n, i)) * double(e(n, j));
      EXPECT_NEAR(gradient(i, j), sum, 1e-4) << "grad W at " << i << ", " << j;
    }
  }
}

}  // namespace
}  // namespace cnnkit
