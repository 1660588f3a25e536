// BatchNorm: hand-computed training and testing steps, the running statistics, gradient checks in
// double, what initialize() does, the bad inputs. PyTorch's values: oracle_layers_test.cpp; the
// contract: check_layer_test.cpp.
#include "cnnkit/layers/batch_norm.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/initializers.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/threading.hpp"
#include "layer_test_helpers.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit {
namespace {

using testing::expect_tensor_near;
using testing::expect_throw_with;
using testing::random_tensor;

TEST(BatchNorm, StartsAsPyTorchDoes) {
  BatchNorm<float> norm(3);
  EXPECT_EQ(norm.channels(), 3u);
  EXPECT_EQ(norm.momentum(), 0.1);
  EXPECT_EQ(norm.epsilon(), 1e-5);
  const auto parameters = norm.parameters();
  ASSERT_EQ(parameters.size(), 2u);
  EXPECT_EQ(parameters[0]->name, "scale");
  EXPECT_EQ(parameters[0]->value, Tensor<float>({3}, 1.0f));
  EXPECT_EQ(parameters[1]->name, "shift");
  EXPECT_EQ(parameters[1]->value, Tensor<float>({3}, 0.0f));
  const auto buffers = norm.buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].name, "running_mean");
  EXPECT_EQ(buffers[0].value, &norm.running_mean());
  EXPECT_EQ(*buffers[0].value, Tensor<float>({3}, 0.0f));
  EXPECT_EQ(buffers[1].name, "running_var");
  EXPECT_EQ(*buffers[1].value, Tensor<float>({3}, 1.0f));
  EXPECT_EQ(norm.parameter_count(), 6u);  // the buffers are not parameters
}

TEST(BatchNorm, InitializeIgnoresTheInitializersAndRestartsTheLayer) {
  BatchNorm<double> norm(2);
  norm.parameters()[0]->value = Tensor<double>({2}, 3.0);
  norm.parameters()[1]->value = Tensor<double>({2}, -1.0);
  *norm.buffers()[0].value = Tensor<double>({2}, 7.0);
  *norm.buffers()[1].value = Tensor<double>({2}, 9.0);
  He<double> he;
  Constant<double> constant(0.1);
  norm.initialize(he, constant);
  EXPECT_EQ(norm.parameters()[0]->value, Tensor<double>({2}, 1.0));
  EXPECT_EQ(norm.parameters()[1]->value, Tensor<double>({2}, 0.0));
  EXPECT_EQ(norm.running_mean(), Tensor<double>({2}, 0.0));
  EXPECT_EQ(norm.running_var(), Tensor<double>({2}, 1.0));
}

// (batch, features) = (4, 1), x = [1, 2, 3, 6]: mean 3, biased variance 14/4 = 3.5; with epsilon
// 0.5, sqrt(var + epsilon) = 2 and x_hat = [-1, -0.5, 0, 1.5]. Scale 2, shift 1.
TEST(BatchNorm, TrainingStepByHand) {
  BatchNorm<double> norm(1, 0.1, 0.5);
  norm.parameters()[0]->value = Tensor<double>({1}, 2.0);
  norm.parameters()[1]->value = Tensor<double>({1}, 1.0);
  expect_tensor_near(norm.forward(Tensor<double>({4, 1}, std::vector<double>{1, 2, 3, 6})),
                     Tensor<double>({4, 1}, std::vector<double>{-1, 0, 1, 4}), 1e-15);
  // running_mean = 0.9 * 0 + 0.1 * 3; running_var = 0.9 * 1 + 0.1 * 14/3 (unbiased).
  EXPECT_NEAR(norm.running_mean()[0], 0.3, 1e-15);
  EXPECT_NEAR(norm.running_var()[0], 0.9 + 1.4 / 3, 1e-15);
  // E = [1, 0, 0, 0]: grad shift = 1, grad scale = sum E x_hat = -1,
  // E_{n-1} = 2 / (4 * 2) * (4 E - 1 - x_hat * (-1)) = [0.5, -0.375, -0.25, 0.125].
  expect_tensor_near(norm.backward(Tensor<double>({4, 1}, std::vector<double>{1, 0, 0, 0})),
                     Tensor<double>({4, 1}, std::vector<double>{0.5, -0.375, -0.25, 0.125}), 1e-15);
  EXPECT_NEAR(norm.parameters()[0]->gradient[0], -1.0, 1e-15);
  EXPECT_NEAR(norm.parameters()[1]->gradient[0], 1.0, 1e-15);
}

TEST(BatchNorm, StatisticsPerChannelOverBatchAndSpace) {
  // (2, 2, 1, 2). Channel 0: 0, 2 | 4, 6: mean 3, variance 5, with epsilon 4: x_hat = (x - 3) / 3.
  // Channel 1 is constant: variance 0, x_hat 0, y = its shift 5.
  BatchNorm<float> norm(2, 0.1, 4.0);
  norm.parameters()[1]->value = Tensor<float>({2}, std::vector<float>{0, 5});
  const Tensor<float> output =
      norm.forward(Tensor<float>({2, 2, 1, 2}, std::vector<float>{0, 2, 7, 7, 4, 6, 7, 7}));
  expect_tensor_near(
      output,
      Tensor<float>({2, 2, 1, 2}, std::vector<float>{-1, -1.0f / 3, 5, 5, 1.0f / 3, 1, 5, 5}),
      1e-6);
  EXPECT_NEAR(norm.running_mean()[1], 0.7, 1e-6);
  EXPECT_NEAR(norm.running_var()[1], 0.9, 1e-6);  // unbiased variance 0
}

TEST(BatchNorm, StatisticsStayExactFarFromZero) {
  // Values 10000 + u with u uniform in [-0.01, 0.01): the statistics are sums of x - K (K the
  // channel's first value), so the variance loses nothing to the large mean. Momentum 1 makes the
  // running statistics the batch's (variance unbiased); the reference is two passes in double.
  BatchNorm<float> norm(2, 1.0);
  const Tensor<float> input =
      testing::cast_tensor<float>(random_tensor({16, 2, 5, 7}, -0.01, 0.01, 5));
  Tensor<float> shifted = input;
  for (float& v : shifted) v += 10000.0f;
  (void)norm.forward(shifted);
  for (std::size_t c = 0; c < 2; ++c) {
    double mean = 0, squares = 0;
    std::size_t count = 0;
    for (std::size_t n = 0; n < 16; ++n) {
      for (std::size_t s = 0; s < 35; ++s) mean += shifted[(n * 2 + c) * 35 + s], ++count;
    }
    mean /= static_cast<double>(count);
    for (std::size_t n = 0; n < 16; ++n) {
      for (std::size_t s = 0; s < 35; ++s) {
        const double d = shifted[(n * 2 + c) * 35 + s] - mean;
        squares += d * d;
      }
    }
    const double unbiased = squares / static_cast<double>(count - 1);
    EXPECT_NEAR(norm.running_mean()[c], mean, 1e-3) << c;  // float's spacing at 10000
    EXPECT_NEAR(norm.running_var()[c], unbiased, 1e-6 * unbiased) << c;
  }
}

TEST(BatchNorm, TestingPhaseUsesTheRunningStatistics) {
  BatchNorm<double> norm(1, 0.1, 0.5);
  norm.parameters()[0]->value = Tensor<double>({1}, 2.0);
  norm.parameters()[1]->value = Tensor<double>({1}, 1.0);
  *norm.buffers()[0].value = Tensor<double>({1}, 1.0);
  *norm.buffers()[1].value = Tensor<double>({1}, 3.5);
  norm.set_testing_phase(true);
  // (x - 1) / 2 * 2 + 1: one value per channel is fine here, and nothing changes.
  expect_tensor_near(norm.forward(Tensor<double>({1, 1}, 5.0)), Tensor<double>({1, 1}, 5.0), 1e-15);
  expect_tensor_near(norm.forward(Tensor<double>({2, 1}, std::vector<double>{-1, 3})),
                     Tensor<double>({2, 1}, std::vector<double>{-1, 3}), 1e-15);
  EXPECT_EQ(norm.running_mean()[0], 1.0);
  EXPECT_EQ(norm.running_var()[0], 3.5);
}

TEST(BatchNorm, MomentumOneKeepsTheLastBatchAndZeroKeepsTheStart) {
  BatchNorm<double> last(1, 1.0);
  BatchNorm<double> start(1, 0.0);
  const Tensor<double> input({3, 1}, std::vector<double>{1, 2, 6});
  last.forward(input);
  start.forward(input);
  EXPECT_DOUBLE_EQ(last.running_mean()[0], 3.0);
  EXPECT_DOUBLE_EQ(last.running_var()[0], 7.0);  // (4 + 1 + 9) / 2
  EXPECT_EQ(start.running_mean()[0], 0.0);
  EXPECT_EQ(start.running_var()[0], 1.0);
}

TEST(BatchNorm, GradientChecks) {
  L2Loss<double> loss;
  for (const Shape& shape : {Shape{5, 3}, Shape{2, 3, 4}, Shape{2, 2, 3, 3}}) {
    BatchNorm<double> norm(shape[1]);
    norm.parameters()[0]->value = random_tensor({shape[1]}, 0.5, 2, 1);
    norm.parameters()[1]->value = random_tensor({shape[1]}, -1, 1, 2);
    const GradientCheckResult result = gradient_check<double>(
        {&norm}, loss, random_tensor(shape, -2, 3, 3), random_tensor(shape, -1, 1, 4));
    EXPECT_EQ(result.entries.size(), 3u) << to_string(shape);  // input, scale, shift
    EXPECT_LT(result.worst(), 1e-6) << to_string(shape);
  }
}

template <typename T>
void check_same_result_on_one_and_two_threads() {
  // Large enough (8*8*32*32 = 65536 elements) for the loops over channels to start a team.
  const Tensor<T> input = testing::cast_tensor<T>(random_tensor({8, 8, 32, 32}, -2, 3, 11));
  const Tensor<T> error = testing::cast_tensor<T>(random_tensor({8, 8, 32, 32}, -1, 1, 12));
  const testing::ThreadCountGuard guard;
  set_num_threads(1);
  BatchNorm<T> one(8);
  const Tensor<T> output_one = one.forward(input);
  const Tensor<T> error_one = one.backward(error);
  set_num_threads(2);
  BatchNorm<T> two(8);
  EXPECT_EQ(two.forward(input), output_one);
  EXPECT_EQ(two.backward(error), error_one);
  EXPECT_EQ(two.parameters()[0]->gradient, one.parameters()[0]->gradient);
  EXPECT_EQ(two.parameters()[1]->gradient, one.parameters()[1]->gradient);
  EXPECT_EQ(two.running_mean(), one.running_mean());
  EXPECT_EQ(two.running_var(), one.running_var());
}

TEST(BatchNorm, SameResultOnOneAndTwoThreads) {
  check_same_result_on_one_and_two_threads<float>();
  check_same_result_on_one_and_two_threads<double>();
}

TEST(BatchNorm, BadArguments) {
  expect_throw_with<std::invalid_argument>([] { BatchNorm<float>(0); },
                                           {"BatchNorm", "channels above 0", "0"});
  for (const double momentum : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    expect_throw_with<std::invalid_argument>([&] { BatchNorm<float>(2, momentum); },
                                             {"BatchNorm", "momentum in [0, 1]", "momentum"});
  }
  for (const double epsilon : {0.0, -1e-5, std::numeric_limits<double>::quiet_NaN(),
                               std::numeric_limits<double>::infinity()}) {
    expect_throw_with<std::invalid_argument>([&] { BatchNorm<float>(2, 0.1, epsilon); },
                                             {"BatchNorm", "epsilon above 0", "epsilon"});
  }
}

TEST(BatchNorm, BadInputs) {
  BatchNorm<double> norm(3);
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)norm.forward(Tensor<double>({1, 3}));
      },
      {"BatchNorm", "more than one value per channel", "[1, 3]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)norm.forward(Tensor<double>({1, 3, 1, 1}));
      },
      {"BatchNorm", "more than one value per channel", "[1, 3, 1, 1]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)norm.forward(Tensor<double>({2, 4}));
      },
      {"BatchNorm", "3 channels", "[2, 4]"});
  expect_throw_with<std::invalid_argument>([&] { (void)norm.forward(Tensor<double>({3})); },
                                           {"BatchNorm", "rank 2", "[3]"});
  expect_throw_with<std::logic_error>(
      [&] {
        (void)norm.backward(Tensor<double>({2, 3}));
      },
      {"BatchNorm", "forward() before backward()"});
  (void)norm.forward(Tensor<double>({2, 3}));
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)norm.backward(Tensor<double>({3, 3}));
      },
      {"BatchNorm", "[2, 3]", "[3, 3]"});
  norm.parameters()[0]->value = Tensor<double>({2});
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)norm.forward(Tensor<double>({2, 3}));
      },
      {"BatchNorm", "scale", "[3]", "[2]"});
}

}  // namespace
}  // namespace cnnkit
