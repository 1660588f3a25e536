// AveragePooling and GlobalAveragePooling: hand-computed values in 2-D and 1-D, gradient checks in
// double, the same bits on one and two threads, the bad inputs. PyTorch's values:
// oracle_layers_test.cpp; the contract: check_layer_test.cpp.
#include "cnnkit/layers/average_pooling.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/threading.hpp"
#include "layer_test_helpers.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit {
namespace {

using testing::expect_tensor_near;
using testing::expect_throw_with;
using testing::ramp;

// Uniform in [-1, 1).
Tensor<double> random_tensor(const Shape& shape, unsigned seed) {
  return testing::random_tensor(shape, -1.0, 1.0, seed);
}

double gradient_error(Layer<double>& layer, const Tensor<double>& input) {
  L2Loss<double> loss;
  const Tensor<double> label = random_tensor(layer.output_shape(input.shape()), 5);
  return gradient_check<double>({&layer}, loss, input, label).worst();
}

// ---- AveragePooling

TEST(AveragePooling, RampTwoByTwoStrideTwo) {
  AveragePooling<double> pool({2}, {2});
  // Windows {0,1,4,5}, {2,3,6,7}, {8,9,12,13}, {10,11,14,15}.
  expect_tensor_near(pool.forward(ramp({1, 1, 4, 4})),
                     Tensor<double>({1, 1, 2, 2}, std::vector<double>{2.5, 4.5, 10.5, 12.5}), 0.0);
  // Each error spreads as a quarter over its window.
  expect_tensor_near(pool.backward(Tensor<double>({1, 1, 2, 2}, std::vector<double>{4, 8, 12, 16})),
                     Tensor<double>({1, 1, 4, 4}, std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3,
                                                                      4, 4, 3, 3, 4, 4}),
                     0.0);
}

TEST(AveragePooling, UnevenWindowAndStride) {
  // 3x2 windows with stride (2, 3) over a 5x7 ramp: rows 0-2 and 2-4, columns 0-1 and 3-4.
  AveragePooling<double> pool({2, 3}, {3, 2});
  EXPECT_EQ(pool.stride_shape(), (Shape{2, 3}));
  EXPECT_EQ(pool.pooling_shape(), (Shape{3, 2}));
  // Window mean = its centre row's mean: (7 + 0.5), (7 + 3.5), (21 + 0.5), (21 + 3.5).
  expect_tensor_near(pool.forward(ramp({1, 1, 5, 7})),
                     Tensor<double>({1, 1, 2, 2}, std::vector<double>{7.5, 10.5, 21.5, 24.5}),
                     1e-14);
}

TEST(AveragePooling, OneDimensionalOverlappingWindowsSumTheirShares) {
  AveragePooling<double> pool({1}, {3});
  pool.forward(Tensor<double>({1, 1, 5}, std::vector<double>{1, 2, 3, 4, 5}));
  // Windows {0,1,2}, {1,2,3}, {2,3,4} with errors 3, 6, 9: shares 1, 2, 3.
  expect_tensor_near(pool.backward(Tensor<double>({1, 1, 3}, std::vector<double>{3, 6, 9})),
                     Tensor<double>({1, 1, 5}, std::vector<double>{1, 3, 6, 5, 3}), 1e-15);
  AveragePooling<double> strided({2}, {2});
  expect_tensor_near(strided.forward(Tensor<double>({1, 1, 5}, std::vector<double>{1, 2, 3, 4, 5})),
                     Tensor<double>({1, 1, 2}, std::vector<double>{1.5, 3.5}), 0.0);
  // The last position is in no window: its error is 0.
  expect_tensor_near(strided.backward(Tensor<double>({1, 1, 2}, std::vector<double>{2, 4})),
                     Tensor<double>({1, 1, 5}, std::vector<double>{1, 1, 2, 2, 0}), 0.0);
}

TEST(AveragePooling, GradientChecks) {
  AveragePooling<double> overlapping({1, 2}, {3, 2});
  EXPECT_LT(gradient_error(overlapping, random_tensor({2, 2, 5, 6}, 1)), 1e-7);
  AveragePooling<double> one_d({3}, {2});
  EXPECT_LT(gradient_error(one_d, random_tensor({2, 3, 10}, 2)), 1e-7);
}

TEST(AveragePooling, SameResultOnOneAndTwoThreads) {
  // Large enough (8*8*32*32 = 65536 elements) for the parallel loop to start a team.
  const Tensor<double> input = random_tensor({8, 8, 32, 32}, 11);
  const Tensor<double> error = random_tensor({8, 8, 16, 16}, 12);
  const testing::ThreadCountGuard guard;
  set_num_threads(1);
  AveragePooling<double> one({2}, {2});
  const Tensor<double> output_one = one.forward(input);
  const Tensor<double> error_one = one.backward(error);
  set_num_threads(2);
  AveragePooling<double> two({2}, {2});
  EXPECT_EQ(two.forward(input), output_one);
  EXPECT_EQ(two.backward(error), error_one);
}

TEST(AveragePooling, BadArgumentsAndInputs) {
  expect_throw_with<std::invalid_argument>([] { AveragePooling<float>({0}, {2}); },
                                           {"AveragePooling", "stride_shape", "[0]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        AveragePooling<float>({1}, {2, 2, 2});
      },
      {"AveragePooling", "pooling_shape", "[2, 2, 2]"});
  AveragePooling<double> pool({1}, {3, 2});
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)pool.forward(Tensor<double>({1, 1, 2, 5}));
      },
      {"AveragePooling", "at least as large as the pooling shape [3, 2]", "[1, 1, 2, 5]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)pool.forward(Tensor<double>({1, 1, 5}));
      },
      {"AveragePooling", "rank 4", "[1, 1, 5]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)pool.forward(Tensor<double>({4, 5}));
      },
      {"AveragePooling", "rank 3", "[4, 5]"});
  expect_throw_with<std::logic_error>(
      [&] {
        (void)pool.backward(Tensor<double>({1, 1, 1, 1}));
      },
      {"AveragePooling", "forward() before backward()"});
  (void)pool.forward(Tensor<double>({1, 1, 4, 4}));
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)pool.backward(Tensor<double>({1, 1, 2, 2}));
      },
      {"AveragePooling", "[1, 1, 2, 3]", "[1, 1, 2, 2]"});
}

// ---- GlobalAveragePooling

TEST(GlobalAveragePooling, HandValues) {
  GlobalAveragePooling<double> pool;
  const Tensor<double> input({1, 2, 2, 2}, std::vector<double>{1, 2, 3, 4, 0, 0, 0, 8});
  expect_tensor_near(pool.forward(input), Tensor<double>({1, 2}, std::vector<double>{2.5, 2}), 0.0);
  expect_tensor_near(pool.backward(Tensor<double>({1, 2}, std::vector<double>{4, -8})),
                     Tensor<double>({1, 2, 2, 2}, std::vector<double>{1, 1, 1, 1, -2, -2, -2, -2}),
                     0.0);
  // 1-D: (batch, channels, length) -> (batch, channels).
  EXPECT_EQ(pool.output_shape({3, 4, 9}), (Shape{3, 4}));
  expect_tensor_near(pool.forward(Tensor<double>({2, 1, 3}, std::vector<double>{1, 2, 6, 0, 3, 0})),
                     Tensor<double>({2, 1}, std::vector<double>{3, 1}), 0.0);
  EXPECT_EQ(pool.forward_flops({2, 3, 4, 5}), 120u + 6u);
}

// Each plane's mean is its values summed in order, times 1 / size, to the bit, whichever group of
// planes the layer sums side by side: 21 planes (two full groups of 8 and 5 more) and a batch
// large enough for a team of threads, on 1 and 2 threads.
TEST(GlobalAveragePooling, EachPlaneSummedInItsOwnOrder) {
  const testing::ThreadCountGuard guard;
  for (const Shape& shape : {Shape{3, 7, 13}, Shape{64, 32, 7, 7}}) {
    SCOPED_TRACE(to_string(shape));
    const Tensor<float> input = testing::cast_tensor<float>(random_tensor(shape, 5));
    const std::size_t planes = shape[0] * shape[1];
    const std::size_t size = input.size() / planes;
    Tensor<float> expected({shape[0], shape[1]});
    for (std::size_t p = 0; p < planes; ++p) {
      float sum = 0;
      for (std::size_t i = 0; i < size; ++i) sum += input[p * size + i];
      expected[p] = sum * (1.0f / static_cast<float>(size));
    }
    for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
      set_num_threads(threads);
      GlobalAveragePooling<float> pool;
      EXPECT_EQ(pool.forward(input), expected) << threads << " thread(s)";
    }
  }
}

TEST(GlobalAveragePooling, GradientCheck) {
  GlobalAveragePooling<double> pool;
  EXPECT_LT(gradient_error(pool, random_tensor({2, 3, 3, 5}, 3)), 1e-7);
}

TEST(GlobalAveragePooling, BadInputs) {
  GlobalAveragePooling<double> pool;
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)pool.forward(Tensor<double>({4, 5}));
      },
      {"GlobalAveragePooling", "rank 3", "[4, 5]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)pool.forward(Tensor<double>({1, 2, 0}));
      },
      {"GlobalAveragePooling", "nonzero", "[1, 2, 0]"});
  expect_throw_with<std::logic_error>(
      [&] {
        (void)pool.backward(Tensor<double>({1, 2}));
      },
      {"GlobalAveragePooling", "forward() before backward()"});
  (void)pool.forward(Tensor<double>({1, 2, 3}));
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)pool.backward(Tensor<double>({2, 1}));
      },
      {"GlobalAveragePooling", "[1, 2]", "[2, 1]"});
}

}  // namespace
}  // namespace cnnkit
