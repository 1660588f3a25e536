#include "cnnkit/layers/pooling.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/simd_level.hpp"
#include "cnnkit/threading.hpp"
#include "layer_test_helpers.hpp"
#include "runtime/simd_level.hpp"
#include "simd_level_guard.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit {
namespace {

using testing::expect_tensor_near;
using testing::expect_throw_with;
using testing::ramp;

// Distinct values (a shuffled ramp, 0.1 apart) so that no finite-difference step of 1e-5 can
// change which element of a window is the maximum.
Tensor<double> distinct_values(const Shape& shape, unsigned seed) {
  Tensor<double> tensor = ramp(shape);
  std::shuffle(tensor.begin(), tensor.end(), std::mt19937(seed));
  for (double& v : tensor) v = 0.1 * v - 1.0;
  return tensor;
}

TEST(Pooling, RampTwoByTwoStrideTwo) {
  Pooling<double> pool({2}, {2});
  const Tensor<double> output = pool.forward(ramp({1, 1, 4, 4}));
  // Windows {0,1,4,5}, {2,3,6,7}, {8,9,12,13}, {10,11,14,15}: the bottom-right corner wins.
  expect_tensor_near(output, Tensor<double>({1, 1, 2, 2}, std::vector<double>{5, 7, 13, 15}), 0.0);
}

TEST(Pooling, BackwardRoutesToTheMaximum) {
  Pooling<double> pool({2}, {2});
  pool.forward(ramp({1, 1, 4, 4}));
  const Tensor<double> input_error =
      pool.backward(Tensor<double>({1, 1, 2, 2}, std::vector<double>{1, 2, 3, 4}));
  Tensor<double> expected({1, 1, 4, 4});
  expected(0, 0, 1, 1) = 1;  // input 5
  expected(0, 0, 1, 3) = 2;  // input 7
  expected(0, 0, 3, 1) = 3;  // input 13
  expected(0, 0, 3, 3) = 4;  // input 15
  expect_tensor_near(input_error, expected, 0.0);
}

TEST(Pooling, EveryPlaneOfEveryBatchIsPooledOnItsOwn) {
  // Plane p holds ramp + 100 p; odd planes are negated so their maximum is the top-left corner.
  Tensor<double> input({2, 3, 4, 4});
  for (std::size_t p = 0; p < 6; ++p) {
    for (std::size_t i = 0; i < 16; ++i) {
      const double value = static_cast<double>(i) + 100.0 * static_cast<double>(p);
      input[p * 16 + i] = p % 2 == 0 ? value : -value;
    }
  }
  Pooling<double> pool({2, 2}, {2, 2});
  const Tensor<double> output = pool.forward(input);
  ASSERT_EQ(output.shape(), (Shape{2, 3, 2, 2}));
  for (std::size_t p = 0; p < 6; ++p) {
    const double offset = 100.0 * static_cast<double>(p);
    const std::vector<double> expected =
        p % 2 == 0 ? std::vector<double>{offset + 5, offset + 7, offset + 13, offset + 15}
                   : std::vector<double>{-offset, -offset - 2, -offset - 8, -offset - 10};
    for (std::size_t o = 0; o < 4; ++o) EXPECT_EQ(output[p * 4 + o], expected[o]) << p << o;
  }
  const Tensor<double> input_error = pool.backward(Tensor<double>(output.shape(), 1.0));
  // Plane 1 (negated): the error lands on the top-left of each window: 0, 2, 8, 10.
  for (const std::size_t i : {0u, 2u, 8u, 10u}) EXPECT_EQ(input_error[16 + i], 1.0) << i;
  EXPECT_EQ(std::accumulate(input_error.begin(), input_error.end(), 0.0), 24.0);
}

TEST(Pooling, OverlappingWindowsSumTheirErrors) {
  // 2x2 windows with stride 1 over
  //   1 5 2
  //   3 4 9
  //   0 6 7
  // maxima: 5 (0,1), 9 (1,2), 6 (2,1), 9 (1,2) again.
  Pooling<double> pool({1}, {2});
  const Tensor<double> input({1, 1, 3, 3}, std::vector<double>{1, 5, 2, 3, 4, 9, 0, 6, 7});
  expect_tensor_near(pool.forward(input),
                     Tensor<double>({1, 1, 2, 2}, std::vector<double>{5, 9, 6, 9}), 0.0);
  const Tensor<double> input_error =
      pool.backward(Tensor<double>({1, 1, 2, 2}, std::vector<double>{1, 2, 3, 4}));
  // The 9 wins two windows and receives 2 + 4.
  expect_tensor_near(input_error,
                     Tensor<double>({1, 1, 3, 3}, std::vector<double>{0, 1, 0, 0, 0, 6, 0, 3, 0}),
                     0.0);
}

TEST(Pooling, ThreeByThreeStrideOneSendsEveryErrorToTheSharedMaximum) {
  // The 15 at (1, 1) lies in all four 3x3 windows of this 4x4 input.
  const Tensor<double> input({1, 1, 4, 4}, std::vector<double>{0, 1, 2, 3,    //
                                                               4, 15, 6, 7,   //
                                                               8, 9, 10, 11,  //
                                                               12, 13, 14, 5});
  Pooling<double> pool({1, 1}, {3, 3});
  expect_tensor_near(pool.forward(input), Tensor<double>({1, 1, 2, 2}, 15.0), 0.0);
  const Tensor<double> input_error =
      pool.backward(Tensor<double>({1, 1, 2, 2}, std::vector<double>{1, 2, 3, 4}));
  Tensor<double> expected({1, 1, 4, 4});
  expected(0, 0, 1, 1) = 10;
  expect_tensor_near(input_error, expected, 0.0);
}

TEST(Pooling, TiesGoToTheFirstInRowMajorOrder) {
  Pooling<double> pool({2}, {2});
  const Tensor<double> error({1, 3, 1, 1}, std::vector<double>{1, 2, 3});
  // Plane 0: all equal; plane 1: the 4s at (0,1) and (1,0); plane 2: the 2s at (0,1) and (1,1).
  const Tensor<double> input({1, 3, 2, 2}, std::vector<double>{3, 3, 3, 3, 1, 4, 4, 2, 1, 2, 0, 2});
  pool.forward(input);
  expect_tensor_near(
      pool.backward(error),
      Tensor<double>({1, 3, 2, 2}, std::vector<double>{1, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0}), 0.0);
}

TEST(Pooling, UnevenInputDropsTheRemainder) {
  Pooling<double> square({2}, {2});
  EXPECT_EQ(square.output_shape({2, 3, 5, 7}), (Shape{2, 3, 2, 3}));
  // Pooling 3x2 with stride (2, 3) over a 5x7 ramp: windows start at rows 0, 2 and columns 0, 3;
  // each window's maximum is its bottom-right element (r + 2, c + 1).
  Pooling<double> pool({2, 3}, {3, 2});
  const Tensor<double> output = pool.forward(ramp({1, 1, 5, 7}));
  expect_tensor_near(
      output,
      Tensor<double>({1, 1, 2, 2}, std::vector<double>{2 * 7 + 1, 2 * 7 + 4, 4 * 7 + 1, 4 * 7 + 4}),
      0.0);
  EXPECT_EQ(pool.stride_shape(), (Shape{2, 3}));
  EXPECT_EQ(pool.pooling_shape(), (Shape{3, 2}));
}

TEST(Pooling, WindowAsLargeAsTheInputGivesOneValue) {
  Pooling<float> pool({1}, {3, 4});
  Tensor<float> input({1, 1, 3, 4}, -2.0f);
  input(0, 0, 2, 1) = -0.5f;
  const Tensor<float> output = pool.forward(input);
  ASSERT_EQ(output.shape(), (Shape{1, 1, 1, 1}));
  EXPECT_EQ(output[0], -0.5f);
}

TEST(Pooling, SameResultOnOneAndTwoThreads) {
  // Large enough (8*8*32*32 = 65536 elements) for the parallel loop to start a team.
  const Tensor<double> input = distinct_values({8, 8, 32, 32}, 11);
  Tensor<double> error = distinct_values({8, 8, 31, 31}, 12);
  const testing::ThreadCountGuard guard;
  set_num_threads(1);
  Pooling<double> one({1}, {2});
  const Tensor<double> output_one = one.forward(input);
  const Tensor<double> error_one = one.backward(error);
  set_num_threads(2);
  Pooling<double> two({1}, {2});
  const Tensor<double> output_two = two.forward(input);
  const Tensor<double> error_two = two.backward(error);
  EXPECT_EQ(output_one, output_two);
  EXPECT_EQ(error_one, error_two);
  // Spot check one window against its definition.
  const double window_max = std::max(
      {input(3, 5, 10, 20), input(3, 5, 10, 21), input(3, 5, 11, 20), input(3, 5, 11, 21)});
  EXPECT_EQ(output_one(3, 5, 10, 20), window_max);
}

// The SIMD levels this CPU runs, by their names for set_simd_level.
std::vector<std::string> simd_levels() {
  std::vector<std::string> levels{"none"};
  if (runtime::cpu_simd_level() >= runtime::SimdLevel::kAvx2) levels.emplace_back("avx2");
  if (runtime::cpu_simd_level() >= runtime::SimdLevel::kAvx512) levels.emplace_back("avx512");
  return levels;
}

// Normal values with every 7th a -0 or +0 and every 5th a repeat of its neighbour (ties).
Tensor<float> values_with_ties(const Shape& shape, unsigned seed) {
  Tensor<float> tensor(shape);
  std::mt19937 engine(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (std::size_t i = 0; i < tensor.size(); ++i) {
    tensor[i] = i % 7 == 0            ? (i % 14 == 0 ? -0.0f : 0.0f)
                : i % 5 == 0 && i > 0 ? tensor[i - 1]
                                      : normal(engine);
  }
  return tensor;
}

bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The definition on (batch, channels, y, x), a 1-D input as (y, 1): each output the first
// strict maximum of its window in row-major order; the input error zeros, then each error added
// at its window's maximum.
struct Reference {
  Tensor<float> output, input_error;
};
Reference reference_pooling(const Tensor<float>& input, const Tensor<float>& error, std::size_t sy,
                            std::size_t sx, std::size_t py, std::size_t px) {
  const Shape& shape = input.shape();
  const std::size_t in_y = shape[2], in_x = shape.size() == 4 ? shape[3] : 1;
  const std::size_t out_y = (in_y - py) / sy + 1, out_x = (in_x - px) / sx + 1;
  Reference r{Tensor<float>(error.shape()), Tensor<float>(shape, 0.0f)};
  for (std::size_t p = 0; p < shape[0] * shape[1]; ++p) {
    const float* in = input.data() + p * in_y * in_x;
    for (std::size_t o = 0; o < out_y * out_x; ++o) {
      const std::size_t oy = o / out_x, ox = o % out_x;
      std::size_t best = oy * sy * in_x + ox * sx;
      for (std::size_t wy = 0; wy < py; ++wy) {
        for (std::size_t wx = 0; wx < px; ++wx) {
          const std::size_t i = (oy * sy + wy) * in_x + ox * sx + wx;
          if (in[i] > in[best]) best = i;
        }
      }
      r.output[p * out_y * out_x + o] = in[best];
      r.input_error[p * in_y * in_x + best] += error[p * out_y * out_x + o];
    }
  }
  return r;
}

struct LayerCase {
  Shape stride, window, input;
};

// Tiling pairs (2-D, 1-D), tiling 3x3, 3 and 2x3 with leftover rows and columns, overlapping 2x2
// stride 1, 1-D window 3 stride 2 and 2x2 stride (2, 1) (overlapping along x only), 2x2 stride 3
// (gaps no window reads); each large
// enough (>= 2^15 elements) for the parallel loop to start a team.
const LayerCase kLayerCases[] = {
    {{2}, {2}, {8, 8, 33, 35}},       {{2}, {2}, {8, 16, 301}},         {{3}, {3}, {4, 8, 31, 34}},
    {{3}, {3}, {4, 16, 607}},         {{1}, {2}, {4, 8, 31, 33}},       {{2}, {3}, {4, 16, 603}},
    {{2, 3}, {2, 3}, {4, 8, 33, 35}}, {{2, 1}, {2, 2}, {4, 8, 33, 35}}, {{3}, {2}, {4, 8, 31, 34}},
};

TEST(Pooling, SameBitsAsTheDefinitionOnOneToFourThreadsAtEverySimdLevel) {
  const testing::ThreadCountGuard threads;
  const testing::SimdLevelGuard level_guard;
  unsigned seed = 20;
  for (const LayerCase& c : kLayerCases) {
    const Tensor<float> input = values_with_ties(c.input, seed++);
    Pooling<float> shape_only(c.stride, c.window);
    const Tensor<float> error = values_with_ties(shape_only.output_shape(c.input), seed++);
    const bool two_d = c.input.size() == 4;
    const Reference want = reference_pooling(input, error, c.stride[0], two_d ? c.stride.back() : 1,
                                             c.window[0], two_d ? c.window.back() : 1);
    for (const std::string& level : simd_levels()) {
      set_simd_level(level);
      for (std::size_t n = 1; n <= 4; ++n) {
        SCOPED_TRACE(::testing::Message()
                     << to_string(c.input) << " window " << to_string(c.window) << " stride "
                     << to_string(c.stride) << " " << level << " threads " << n);
        set_num_threads(n);
        Pooling<float> pool(c.stride, c.window);
        EXPECT_TRUE(same_bits(pool.forward(input), want.output));
        EXPECT_TRUE(same_bits(pool.backward(error), want.input_error));
      }
    }
  }
}

TEST(Pooling, TestingPhaseGivesTheTrainingOutputsAndRefusesBackward) {
  const testing::SimdLevelGuard level_guard;
  unsigned seed = 40;
  for (const LayerCase& c : kLayerCases) {
    const Tensor<float> input = values_with_ties(c.input, seed++);
    for (const std::string& level : simd_levels()) {
      SCOPED_TRACE(::testing::Message() << to_string(c.input) << " window " << to_string(c.window)
                                        << " stride " << to_string(c.stride) << " " << level);
      set_simd_level(level);
      Pooling<float> pool(c.stride, c.window);
      const Tensor<float> training = pool.forward(input);
      pool.set_testing_phase(true);
      EXPECT_TRUE(same_bits(pool.forward(input), training));
      expect_throw_with<std::logic_error>([&] { pool.backward(Tensor<float>(training.shape())); },
                                          {"Pooling", "forward"});
    }
  }
}

TEST(Pooling, GradientCheckNonOverlapping) {
  Pooling<double> pool({2}, {2});
  L2Loss<double> loss;
  const Tensor<double> input = distinct_values({2, 2, 4, 6}, 1);
  const Tensor<double> label = distinct_values({2, 2, 2, 3}, 2);
  const GradientCheckResult result = gradient_check<double>({&pool}, loss, input, label);
  ASSERT_EQ(result.entries.size(), 1u);
  EXPECT_LT(result.worst(), 1e-7);
}

TEST(Pooling, GradientCheckOverlapping) {
  L2Loss<double> loss;
  Pooling<double> three_by_three({1}, {3});
  EXPECT_LT(gradient_check<double>({&three_by_three}, loss, distinct_values({1, 2, 5, 5}, 3),
                                   distinct_values({1, 2, 3, 3}, 4))
                .worst(),
            1e-7);
  Pooling<double> two_by_two({1}, {2});
  EXPECT_LT(gradient_check<double>({&two_by_two}, loss, distinct_values({2, 1, 4, 5}, 5),
                                   distinct_values({2, 1, 3, 4}, 6))
                .worst(),
            1e-7);
}

TEST(Pooling, OneDimensionalInput) {
  // (batch, channels, length) = (1, 2, 7), window 3, stride 2: windows start at 0, 2, 4.
  Pooling<double> pool({2}, {3});
  EXPECT_EQ(pool.output_shape({4, 2, 7}), (Shape{4, 2, 3}));
  const Tensor<double> input({1, 2, 7}, std::vector<double>{1, 5, 2, 0, 7, 3, 6,  //
                                                            -1, -2, -3, -4, -5, -6, -7});
  expect_tensor_near(pool.forward(input),
                     Tensor<double>({1, 2, 3}, std::vector<double>{5, 7, 7, -1, -3, -5}), 0.0);
  // The 7 at position 4 wins two windows and receives both errors.
  expect_tensor_near(
      pool.backward(Tensor<double>({1, 2, 3}, std::vector<double>{1, 2, 3, 4, 5, 6})),
      Tensor<double>({1, 2, 7}, std::vector<double>{0, 1, 0, 0, 5, 0, 0, 4, 0, 5, 0, 6, 0, 0}),
      0.0);
}

TEST(Pooling, GradientCheckOneDimensional) {
  L2Loss<double> loss;
  Pooling<double> pool({2}, {3});
  EXPECT_LT(gradient_check<double>({&pool}, loss, distinct_values({2, 3, 9}, 7),
                                   distinct_values({2, 3, 4}, 8))
                .worst(),
            1e-7);
}

TEST(Pooling, OneDimensionalInputTakesOneValueEach) {
  Pooling<double> two_values({2}, {2, 2});
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)two_values.output_shape({1, 2, 8});
      },
      {"Pooling", "rank 4", "[2, 2]", "one value each", "[1, 2, 8]"});
  Pooling<double> pool({1}, {5});
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)pool.forward(Tensor<double>({1, 2, 4}));
      },
      {"Pooling", "at least as large", "[5]", "[1, 2, 4]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        (void)pool.output_shape({2, 8});
      },
      {"Pooling", "rank 3", "4 (batch, channels, y, x)", "[2, 8]"});
}

TEST(Pooling, BadConstructorArguments) {
  expect_throw_with<std::invalid_argument>(
      [] { Pooling<float>({0}, {2}); },
      {"Pooling", "stride_shape of 1 or 2 values, each above 0", "got [0]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Pooling<float>({1, 2, 3}, {2});
      },
      {"Pooling", "stride_shape", "[1, 2, 3]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Pooling<float>({2}, {2, 0});
      },
      {"Pooling", "pooling_shape", "[2, 0]"});
  expect_throw_with<std::invalid_argument>([] { Pooling<float>({2}, {}); },
                                           {"Pooling", "pooling_shape", "[]"});
}

TEST(Pooling, BadInputs) {
  Pooling<double> pool({2}, {2, 3});
  expect_throw_with<std::logic_error>(
      [&] {
        pool.backward(Tensor<double>({1, 1, 1, 1}));
      },
      {"Pooling", "forward"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        pool.forward(Tensor<double>({2, 4, 4}));
      },
      {"Pooling", "rank 4", "[2, 4, 4]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        pool.forward(Tensor<double>({1, 1, 1, 5}));
      },
      {"Pooling", "[2, 3]", "[1, 1, 1, 5]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        pool.forward(Tensor<double>({1, 1, 4, 2}));
      },
      {"Pooling", "[2, 3]", "[1, 1, 4, 2]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        pool.output_shape({1, 1, 1, 5});
      },
      {"Pooling", "[1, 1, 1, 5]"});
  pool.forward(Tensor<double>({1, 2, 4, 5}));  // output (1, 2, 2, 2)
  expect_throw_with<std::invalid_argument>(
      [&] {
        pool.backward(Tensor<double>({1, 2, 2, 3}));
      },
      {"Pooling", "[1, 2, 2, 2]", "[1, 2, 2, 3]"});
}

}  // namespace
}  // namespace cnnkit
