// The polyphase path for stride-1 dilated convolutions (kernels/conv2d_dilated.hpp) against the
// plain-loop reference in double, at every SIMD level this CPU runs: forward, input error, weight
// and bias gradient, for dilations 2 to 4 in 1-D and 2-D, "same", "valid" and padding between,
// sizes not divisible by the dilation, channel counts off the registers. As in
// conv_pointwise_test.cpp the bound on |kernel - reference| is scaled by the same sums over
// absolute values, so a missing, doubled or shifted term fails while rounding passes. Then the
// same bits on 1 to 4 threads, and what the path declines.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "conv_kernel_test_data.hpp"
#include "conv_same_bits_on_threads.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_dilated.hpp"

namespace cnnkit::kernels {
namespace {

using runtime::best_simd_level;
using runtime::SimdLevel;
using testing::KernelResults;

using Case = testing::ConvCase;
using testing::describe;
using testing::dilated;
using testing::padded;

// {N, C, Y, X, K, m, n, sy, sx}
std::vector<Case> cases() {
  return {
      {dilated({5, 7, 13, 11, 9, 3, 3, 1, 1}, 2, 2), "d2 3x3 same, more samples than threads"},
      {padded(dilated({3, 5, 17, 14, 10, 3, 3, 1, 1}, 3, 3), 0, 0, 0, 0), "d3 3x3 valid"},
      {dilated({1, 9, 15, 18, 6, 3, 3, 1, 1}, 4, 4), "d4 3x3 same, one sample"},
      {dilated({2, 3, 11, 9, 5, 5, 5, 1, 1}, 2, 2), "d2 5x5 same"},
      {padded(dilated({2, 6, 10, 13, 7, 3, 3, 1, 1}, 2, 3), 1, 2, 3, 0),
       "d2,3 3x3, padding between valid and same"},
      {dilated({4, 4, 9, 12, 17, 3, 1, 1, 1}, 3, 1), "d3 3x1 same: phases along y only"},
      {dilated({6, 10, 37, 1, 12, 3, 1, 1, 1}, 4, 1), "1-D along y, d4 k3 same"},
      {padded(dilated({2, 4, 29, 1, 7, 5, 1, 1, 1}, 3, 1), 0, 0, 0, 0), "1-D along y, d3 k5 valid"},
      {dilated({3, 5, 1, 41, 6, 1, 3, 1, 1}, 1, 2), "1-D along x, d2 k3 same"},
      {dilated({1, 33, 23, 1, 20, 3, 1, 1, 1}, 2, 1), "1-D, one sample, C and K past a register"},
  };
}

std::vector<SimdLevel> levels() {
  return testing::simd_kernel_levels();
}

using Data = testing::ConvData<float>;

Data random_data(const ConvGeometry& g, unsigned seed) {
  return testing::random_conv_data<float>(g, seed);
}

// Both passes; the results start as NaN and the workspace full of NaN, so every element must be
// written and no stale phase pixel may leak in.
KernelResults<float> run_dilated(const ConvGeometry& g, const Data& d, SimdLevel level) {
  KernelResults<float> o = testing::nan_conv_results<float>(g);
  std::vector<float> workspace(1 << 16, std::nanf(""));
  EXPECT_TRUE(conv2d_forward_dilated(g, d.input.data(), d.weights.data(), d.bias.data(),
                                     o.output.data(), workspace, level));
  std::fill(workspace.begin(), workspace.end(), std::nanf(""));
  EXPECT_TRUE(conv2d_backward_dilated(g, d.input.data(), d.weights.data(), d.error.data(),
                                      o.input_error.data(), o.weight_gradient.data(),
                                      o.bias_gradient.data(), workspace, level));
  return o;
}

void check_against_reference(const Case& c, SimdLevel level) {
  const ConvGeometry& g = c.g;
  SCOPED_TRACE(std::string(c.what) + " [" + describe(g) + "] " + to_string(level));
  ASSERT_TRUE(conv2d_dilated_covers(g, level));
  const Data d = random_data(g, 7);
  const KernelResults<float> o = run_dilated(g, d, level);

  // |value - exact| <= tolerance * (sum of |terms| + 1), element by element.
  testing::expect_conv_results_close(g, d, o, 2e-6, 2e-6);
}

TEST(ConvDilated, MatchesTheReferenceAtEveryLevel) {
  ASSERT_FALSE(levels().empty()) << "this CPU runs none of the SIMD levels the path needs";
  for (SimdLevel level : levels()) {
    for (const Case& c : cases()) check_against_reference(c, level);
  }
}

TEST(ConvDilated, SameBitsOnOneToFourThreads) {
  for (SimdLevel level : levels()) {
    for (const Case& c : cases()) {
      SCOPED_TRACE(describe(c.g) + " " + to_string(level));
      const Data d = random_data(c.g, 13);
      testing::expect_same_bits_on_one_to_four_threads([&] { return run_dilated(c.g, d, level); });
    }
  }
}

// What the phase images cannot express goes to im2col + GEMM (conv2d.cpp), untouched here.
TEST(ConvDilated, DeclinesWhatThePhasesDoNotCover) {
  const SimdLevel level = best_simd_level();
  const ConvGeometry base = dilated({2, 4, 12, 12, 6, 3, 3, 1, 1}, 2, 2);
  if (level == SimdLevel::kNone) {
    EXPECT_FALSE(conv2d_dilated_covers(base, level));
    return;
  }
  EXPECT_TRUE(conv2d_dilated_covers(base, level));
  EXPECT_FALSE(conv2d_dilated_covers(base, SimdLevel::kNone)) << "no SIMD kernels";
  EXPECT_FALSE(conv2d_dilated_covers({2, 4, 12, 12, 6, 3, 3, 1, 1}, level)) << "no dilation";
  EXPECT_FALSE(conv2d_dilated_covers(dilated({2, 4, 12, 12, 6, 3, 3, 2, 2}, 2, 2), level))
      << "stride 2";
  EXPECT_FALSE(conv2d_dilated_covers(dilated({2, 4, 12, 12, 6, 4, 4, 1, 1}, 2, 2), level))
      << "even kernel";
  ConvGeometry grouped = base;
  grouped.groups = 2;
  EXPECT_FALSE(conv2d_dilated_covers(grouped, level)) << "groups";
  EXPECT_FALSE(conv2d_dilated_covers(padded(base, 3, 2, 2, 2), level)) << "padding past d(k-1)/2";

  std::vector<float> workspace;
  std::vector<float> values(ConvGeometry{2, 4, 12, 12, 6, 3, 3, 2, 2}.input_size(), 1.0f);
  std::vector<float> output(4, 7.0f);
  EXPECT_FALSE(conv2d_forward_dilated(dilated({2, 4, 12, 12, 6, 3, 3, 2, 2}, 2, 2), values.data(),
                                      values.data(), values.data(), output.data(), workspace,
                                      level));
  EXPECT_EQ(output, std::vector<float>(4, 7.0f)) << "declined, yet wrote";
}

// Which of the shapes bench/conv_options_shapes.json times the convolution entry points send
// here (conv2d_dilated_pays): "same" 2-D, not "valid" (11x11 phase outputs for 9x9 real ones per
// phase at dilation 3) nor 1-D.
TEST(ConvDilated, PaysForSame2dOnly) {
  if (best_simd_level() == SimdLevel::kNone) GTEST_SKIP() << "no SIMD kernels on this CPU";
  EXPECT_TRUE(conv2d_dilated_pays(dilated({32, 32, 28, 28, 32, 3, 3, 1, 1}, 2, 2)));
  EXPECT_TRUE(conv2d_dilated_pays(dilated({4, 8, 27, 25, 8, 3, 3, 1, 1}, 3, 3)))
      << "sizes not divisible by d: 9x9 phases for 27x25";
  const ConvGeometry valid = padded(dilated({32, 16, 32, 32, 32, 3, 3, 1, 1}, 3, 3), 0, 0, 0, 0);
  EXPECT_TRUE(conv2d_dilated_covers(valid));
  EXPECT_FALSE(conv2d_dilated_pays(valid));
  const ConvGeometry one_d = dilated({32, 32, 256, 1, 32, 3, 1, 1, 1}, 4, 1);
  EXPECT_TRUE(conv2d_dilated_covers(one_d));
  EXPECT_FALSE(conv2d_dilated_pays(one_d));
  EXPECT_FALSE(conv2d_dilated_pays(dilated({32, 32, 28, 28, 32, 3, 3, 2, 2}, 2, 2))) << "stride 2";
}

}  // namespace
}  // namespace cnnkit::kernels
