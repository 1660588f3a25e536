// The pointwise (1x1) convolution kernels (kernels/conv2d_pointwise.hpp) against the plain-loop
// reference in double, in float at every SIMD level this CPU runs and on BLAS (kNone), and in
// double: forward, input error, weight and bias gradient. As in conv_fast_kernels_test.cpp the
// bound on |pointwise - reference| is scaled by the same sums over absolute values, so a missing
// or doubled term fails while rounding passes. Then the same bits on 1 to 4 threads, the weight
// gradient's summation order written out (sample by sample within fixed groups, groups in order),
// and what the kernels decline.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cnnkit/threading.hpp"
#include "conv_kernel_test_data.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_pointwise.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit::kernels {
namespace {

using runtime::best_simd_level;
using runtime::SimdLevel;

using Case = testing::ConvCase;
using testing::describe;

// {N, C, Y, X, K, 1, 1, sy, sx}
std::vector<Case> cases() {
  ConvGeometry dilated{2, 6, 9, 7, 5, 1, 1, 2, 2};
  dilated.dilation_y = 3;
  dilated.dilation_x = 2;
  ConvGeometry valid{3, 5, 8, 9, 4, 1, 1, 3, 2};
  valid.explicit_padding = true;  // "valid": explicit padding of zeros
  return {
      {{9, 16, 14, 14, 32, 1, 1, 2, 2}, "W4's skip, smaller: stride 2, more samples than threads"},
      {{16, 24, 20, 20, 40, 1, 1, 2, 2}, "enough work for a team of threads, 4 groups"},
      {{6, 33, 15, 17, 18, 1, 1, 1, 1}, "stride 1, enough work for a team"},
      {{1, 7, 5, 6, 9, 1, 1, 1, 1}, "one sample, stride 1"},
      {{3, 17, 11, 13, 33, 1, 1, 1, 1}, "stride 1, C and K past a register"},
      {{4, 5, 13, 11, 7, 1, 1, 3, 3}, "stride 3, odd sizes"},
      {{2, 3, 10, 9, 20, 1, 1, 3, 1}, "strides 3 and 1"},
      {{5, 24, 7, 12, 40, 1, 1, 1, 2}, "strides 1 and 2"},
      {{6, 24, 101, 1, 40, 1, 1, 2, 1}, "1-D along y, stride 2"},
      {{2, 9, 1, 37, 11, 1, 1, 1, 3}, "1-D along x, stride 3"},
      {{7, 2, 1, 1, 3, 1, 1, 1, 1}, "one pixel"},
      {{3, 4, 5, 5, 6, 1, 1, 3, 3}, "stride 3 over 5 pixels: 2 kept per axis"},
      {{1, 40, 20, 20, 1, 1, 1, 2, 2}, "one kernel"},
      {{64, 3, 4, 4, 5, 1, 1, 2, 2}, "many samples of 4 pixels: groups of 128 pixels"},
      {{2, 8, 9, 9, 16, 1, 1, 5, 5}, "stride 5, past the SIMD kernels' strides"},
      {dilated, "dilation (changes nothing for 1x1)"},
      {valid, "explicit padding of zeros (valid)"},
  };
}

// BLAS (kNone) and the SIMD levels.
std::vector<SimdLevel> levels() {
  std::vector<SimdLevel> result{SimdLevel::kNone};
  for (const SimdLevel level : testing::simd_kernel_levels()) result.push_back(level);
  return result;
}

template <typename T>
using Data = testing::ConvData<T>;
template <typename T>
using Outputs = testing::KernelResults<T>;

template <typename T>
Data<T> random_data(const ConvGeometry& g, unsigned seed) {
  return testing::random_conv_data<T>(g, seed);
}

// Both passes; the outputs start as NaN, so every element must be written.
template <typename T>
Outputs<T> run_pointwise(const ConvGeometry& g, const Data<T>& d, SimdLevel level,
                         std::vector<T>& workspace) {
  Outputs<T> o = testing::nan_conv_results<T>(g);
  EXPECT_TRUE(conv2d_forward_pointwise(g, d.input.data(), d.weights.data(), d.bias.data(),
                                       o.output.data(), workspace, level));
  EXPECT_TRUE(conv2d_backward_pointwise(g, d.input.data(), d.weights.data(), d.error.data(),
                                        o.input_error.data(), o.weight_gradient.data(),
                                        o.bias_gradient.data(), workspace, level));
  return o;
}

template <typename T>
void check_against_reference(const Case& c, SimdLevel level) {
  const ConvGeometry& g = c.g;
  SCOPED_TRACE(std::string(c.what) + " [" + describe(g) + "] " + to_string(level) +
               (sizeof(T) == sizeof(float) ? " float" : " double"));
  ASSERT_TRUE(is_pointwise(g));
  const Data<T> d = random_data<T>(g, 7);
  std::vector<T> workspace;
  const Outputs<T> o = run_pointwise(g, d, level, workspace);

  // |value - exact| <= tolerance * (sum of |terms|) + tolerance, element by element.
  const double tolerance = sizeof(T) == sizeof(float) ? 2e-6 : 1e-14;
  testing::expect_conv_results_close(g, d, o, tolerance, tolerance);
}

TEST(ConvPointwise, FloatMatchesTheReferenceAtEveryLevel) {
  for (SimdLevel level : levels()) {
    for (const Case& c : cases()) check_against_reference<float>(c, level);
  }
}

TEST(ConvPointwise, DoubleMatchesTheReference) {
  for (const Case& c : cases()) check_against_reference<double>(c, best_simd_level());
}

// The input error is zero wherever the stride skips a pixel, written there even over a
// workspace and an output full of NaN.
TEST(ConvPointwise, SkippedPixelsGetZeroInputError) {
  const ConvGeometry g{2, 3, 7, 8, 4, 1, 1, 3, 2};
  const Data<float> d = random_data<float>(g, 5);
  for (SimdLevel level : levels()) {
    std::vector<float> workspace(4096, std::nanf(""));
    const Outputs<float> o = run_pointwise(g, d, level, workspace);
    for (std::size_t plane = 0; plane < g.batch * g.channels; ++plane) {
      for (std::size_t y = 0; y < g.in_y; ++y) {
        for (std::size_t x = 0; x < g.in_x; ++x) {
          const float value = o.input_error[(plane * g.in_y + y) * g.in_x + x];
          if (y % 3 != 0 || x % 2 != 0) {
            EXPECT_EQ(value, 0.0f)
                << to_string(level) << " plane " << plane << " at " << y << ',' << x;
          } else {
            EXPECT_NE(value, 0.0f)
                << to_string(level) << " plane " << plane << " at " << y << ',' << x;
          }
        }
      }
    }
  }
}

template <typename T>
void expect_same_bits_on_1_to_4_threads(SimdLevel level) {
  const testing::ThreadCountGuard guard;
  for (const Case& c : cases()) {
    SCOPED_TRACE(describe(c.g) + " " + to_string(level));
    const Data<T> d = random_data<T>(c.g, 13);
    std::vector<T> workspace;
    set_num_threads(1);
    const Outputs<T> one = run_pointwise(c.g, d, level, workspace);
    for (const std::size_t threads : {2, 3, 4}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      set_num_threads(threads);
      const Outputs<T> more = run_pointwise(c.g, d, level, workspace);
      EXPECT_EQ(one.output, more.output);
      EXPECT_EQ(one.input_error, more.input_error);
      EXPECT_EQ(one.weight_gradient, more.weight_gradient);
      EXPECT_EQ(one.bias_gradient, more.bias_gradient);
    }
  }
}

TEST(ConvPointwise, SameBitsOnOneToFourThreads) {
  for (SimdLevel level : levels()) expect_same_bits_on_1_to_4_threads<float>(level);
  expect_same_bits_on_1_to_4_threads<double>(best_simd_level());
}

TEST(ConvPointwise, GradientGroupsDependOnTheGeometryAlone) {
  EXPECT_EQ(pointwise_gradient_groups({128, 16, 28, 28, 32, 1, 1, 2, 2}), 4u);  // W4's skip
  EXPECT_EQ(pointwise_gradient_groups({1, 16, 28, 28, 32, 1, 1, 2, 2}), 1u);    // one sample
  EXPECT_EQ(pointwise_gradient_groups({3, 16, 28, 28, 32, 1, 1, 2, 2}), 3u);    // three
  // 64 samples of 4 pixels: 256 pixels, groups of at least 128: 2.
  EXPECT_EQ(pointwise_gradient_groups({64, 3, 4, 4, 5, 1, 1, 2, 2}), 2u);
  EXPECT_EQ(pointwise_gradient_groups({20, 3, 4, 4, 5, 1, 1, 2, 2}), 1u);  // 80 pixels: one
}

// The weight gradient's order written out for the SIMD levels, whose products are single FMA
// chains over the pixels in order (small_gemm.hpp): per group of pointwise_gradient_groups,
// the first sample's chain, plus each further sample's chain in order; the groups' partials
// added in group order.
TEST(ConvPointwise, WeightGradientSumsSampleBySampleInFixedGroups) {
  const testing::ThreadCountGuard guard;
  const ConvGeometry g{9, 5, 9, 10, 7, 1, 1, 2, 3};     // 9 samples of 15 pixels: 1 group
  const ConvGeometry h{64, 8, 12, 12, 16, 1, 1, 2, 2};  // 64 of 36, 4 groups, a team of threads
  for (const ConvGeometry& geometry : {g, h}) {
    const Data<float> d = random_data<float>(geometry, 3);
    const std::size_t out_y = geometry.out_y(), out_x = geometry.out_x(), pixels = out_y * out_x;
    const std::size_t groups = pointwise_gradient_groups(geometry);
    std::vector<float> expected(geometry.weights_size(), 0.0f);
    for (std::size_t group = 0; group < groups; ++group) {
      const std::size_t b0 = geometry.batch * group / groups;
      const std::size_t b1 = geometry.batch * (group + 1) / groups;
      std::vector<float> partial(geometry.weights_size(), 0.0f);
      for (std::size_t b = b0; b < b1; ++b) {
        for (std::size_t k = 0; k < geometry.kernels; ++k) {
          for (std::size_t c = 0; c < geometry.channels; ++c) {
            float chain = 0.0f;
            for (std::size_t p = 0; p < pixels; ++p) {
              const std::size_t y = p / out_x * geometry.stride_y,
                                x = p % out_x * geometry.stride_x;
              const float input =
                  d.input[((b * geometry.channels + c) * geometry.in_y + y) * geometry.in_x + x];
              chain = std::fma(d.error[(b * geometry.kernels + k) * pixels + p], input, chain);
            }
            float& sum = partial[k * geometry.channels + c];
            sum = b == b0 ? chain : sum + chain;
          }
        }
      }
      for (std::size_t i = 0; i < expected.size(); ++i) {
        expected[i] = group == 0 ? partial[i] : expected[i] + partial[i];
      }
    }
    for (SimdLevel level : levels()) {
      if (level == SimdLevel::kNone) continue;  // BLAS keeps its own order
      for (const std::size_t threads : {1, 3}) {
        set_num_threads(threads);
        std::vector<float> workspace;
        const Outputs<float> o = run_pointwise(geometry, d, level, workspace);
        EXPECT_EQ(o.weight_gradient, expected)
            << describe(geometry) << ' ' << to_string(level) << ", " << threads << " threads";
      }
    }
  }
}

// The entry points take the pointwise kernels for double and for float strides past the SIMD
// kernels' (the same bits), and those decline what they do not cover, touching nothing.
TEST(ConvPointwise, EntryPointsTakeItWhereTheSimdKernelsDoNot) {
  const ConvGeometry strided{3, 6, 11, 12, 5, 1, 1, 5, 5};
  const Data<float> f = random_data<float>(strided, 9);
  const Data<double> d = random_data<double>(strided, 9);
  std::vector<float> fw;
  std::vector<double> dw;
  const Outputs<float> direct_f = run_pointwise(strided, f, best_simd_level(), fw);
  const Outputs<double> direct_d = run_pointwise(strided, d, best_simd_level(), dw);
  Outputs<float> entry_f = direct_f;
  Outputs<double> entry_d = direct_d;
  conv2d_forward(strided, f.input.data(), f.weights.data(), f.bias.data(), entry_f.output.data(),
                 fw);
  conv2d_backward(strided, f.input.data(), f.weights.data(), f.error.data(),
                  entry_f.input_error.data(), entry_f.weight_gradient.data(),
                  entry_f.bias_gradient.data(), fw);
  conv2d_forward(strided, d.input.data(), d.weights.data(), d.bias.data(), entry_d.output.data(),
                 dw);
  conv2d_backward(strided, d.input.data(), d.weights.data(), d.error.data(),
                  entry_d.input_error.data(), entry_d.weight_gradient.data(),
                  entry_d.bias_gradient.data(), dw);
  EXPECT_EQ(entry_f.output, direct_f.output);
  EXPECT_EQ(entry_f.input_error, direct_f.input_error);
  EXPECT_EQ(entry_f.weight_gradient, direct_f.weight_gradient);
  EXPECT_EQ(entry_d.output, direct_d.output);
  EXPECT_EQ(entry_d.weight_gradient, direct_d.weight_gradient);

  ConvGeometry padded{1, 2, 5, 5, 3, 1, 1, 1, 1};
  padded.explicit_padding = true;
  padded.pad_left = 1;
  ConvGeometry grouped{1, 4, 5, 5, 4, 1, 1, 1, 1};
  grouped.groups = 2;
  for (const ConvGeometry& g : {ConvGeometry{1, 2, 5, 5, 3, 3, 3, 1, 1},
                                ConvGeometry{1, 2, 5, 5, 3, 1, 3, 1, 1}, padded, grouped}) {
    EXPECT_FALSE(is_pointwise(g));
    std::vector<float> input(g.input_size(), 1.0f), weights(g.weights_size(), 1.0f);
    std::vector<float> bias(g.kernels, 1.0f), output(g.output_size(), 42.0f), workspace;
    EXPECT_FALSE(conv2d_forward_pointwise(g, input.data(), weights.data(), bias.data(),
                                          output.data(), workspace));
    EXPECT_EQ(output, std::vector<float>(g.output_size(), 42.0f));
    EXPECT_TRUE(workspace.empty());
  }
}

}  // namespace
}  // namespace cnnkit::kernels
