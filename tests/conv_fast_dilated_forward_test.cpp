// The fast forward (conv2d_forward_fast) on stride-1 convolutions it covers beyond dense "same"
// ones (conv2d_fast_forward_covers): dilations 2 to 4, "valid" and explicit asymmetric padding,
// 1-D along either axis, kernels 3 and 5, channel counts off the registers, against the plain-loop
// reference in double at every SIMD level this CPU runs; the bound on |kernel - reference| is
// scaled by the sums over absolute values, so a missing, doubled or shifted tap fails while
// rounding passes. Then the same bits on 1 to 4 threads, and what the backward still declines.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "conv_kernel_test_data.hpp"
#include "conv_same_bits_on_threads.hpp"
#include "kernels/conv2d_fast.hpp"

namespace cnnkit::kernels {
namespace {

using runtime::SimdLevel;
using testing::describe;
using testing::dilated;
using testing::KernelResults;
using testing::padded;

// {N, C, Y, X, K, m, n, sy, sx}
std::vector<testing::ConvCase> cases() {
  return {
      {dilated({5, 7, 13, 11, 9, 3, 3, 1, 1}, 2, 2), "d2 3x3 same"},
      {dilated({3, 32, 28, 28, 32, 3, 3, 1, 1}, 2, 2), "d2 3x3 same, the benchmark's channels"},
      {padded(dilated({3, 5, 17, 14, 10, 3, 3, 1, 1}, 3, 3), 0, 0, 0, 0), "d3 3x3 valid"},
      {padded(dilated({2, 16, 20, 19, 33, 3, 3, 1, 1}, 3, 3), 0, 0, 0, 0),
       "d3 3x3 valid, K past two registers"},
      {dilated({1, 9, 15, 18, 6, 3, 3, 1, 1}, 4, 4), "d4 3x3 same, one sample"},
      {dilated({2, 3, 11, 9, 5, 5, 5, 1, 1}, 2, 2), "d2 5x5 same"},
      {padded(dilated({2, 6, 10, 13, 7, 3, 3, 1, 1}, 2, 3), 1, 2, 3, 0),
       "d2,3 3x3, asymmetric padding"},
      {padded(dilated({2, 4, 12, 15, 20, 5, 3, 1, 1}, 2, 4), 5, 1, 0, 6),
       "d2,4 5x3, padding past the span on some sides"},
      {padded({3, 5, 9, 10, 11, 3, 3, 1, 1}, 0, 0, 0, 0), "undilated 3x3 valid"},
      {padded({2, 7, 8, 9, 18, 3, 5, 1, 1}, 2, 0, 1, 3), "undilated 3x5, explicit padding"},
      {dilated({4, 4, 9, 12, 17, 3, 1, 1, 1}, 3, 1), "d3 3x1 same"},
      {dilated({6, 10, 37, 1, 12, 3, 1, 1, 1}, 4, 1), "1-D along y, d4 k3 same"},
      {padded(dilated({2, 4, 29, 1, 7, 5, 1, 1, 1}, 3, 1), 0, 0, 0, 0), "1-D along y, d3 k5 valid"},
      {dilated({3, 5, 1, 41, 6, 1, 3, 1, 1}, 1, 2), "1-D along x, d2 k3 same"},
      {padded(dilated({2, 6, 1, 30, 9, 1, 5, 1, 1}, 1, 3), 0, 0, 4, 1),
       "1-D along x, d3 k5, asymmetric padding"},
      {dilated({1, 33, 23, 1, 20, 3, 1, 1, 1}, 2, 1), "1-D, one sample, C and K past a register"},
  };
}

using Data = testing::ConvData<float>;

// The forward alone; the output starts as NaN and the workspace full of NaN, so every element
// must be written and no stale padding may leak in.
KernelResults<float> run_forward(const ConvGeometry& g, const Data& d, SimdLevel level) {
  KernelResults<float> o;
  o.output.assign(g.output_size(), std::nanf(""));
  std::vector<float> workspace(1 << 16, std::nanf(""));
  EXPECT_TRUE(conv2d_forward_fast(g, d.input.data(), d.weights.data(), d.bias.data(),
                                  o.output.data(), workspace, level));
  return o;
}

TEST(ConvFastDilatedForward, MatchesTheReferenceAtEveryLevel) {
  const std::vector<SimdLevel> levels = testing::simd_kernel_levels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level of the fast kernels on this CPU";
  for (const SimdLevel level : levels) {
    for (const testing::ConvCase& c : cases()) {
      SCOPED_TRACE(std::string(c.what) + " [" + describe(c.g) + "] " + to_string(level));
      ASSERT_TRUE(conv2d_fast_forward_covers(c.g, level));
      const Data d = testing::random_conv_data<float>(c.g, 7);
      const KernelResults<float> o = run_forward(c.g, d, level);
      const KernelResults<double> exact = testing::conv_reference(c.g, d, false);
      const KernelResults<double> magnitude = testing::conv_reference(c.g, d, true);
      testing::expect_close_to_reference(o.output, exact.output, magnitude.output, 2e-6, 2e-6,
                                         "forward");
    }
  }
}

TEST(ConvFastDilatedForward, SameBitsOnOneToFourThreads) {
  for (const SimdLevel level : testing::simd_kernel_levels()) {
    for (const testing::ConvCase& c : cases()) {
      SCOPED_TRACE(describe(c.g) + " " + to_string(level));
      const Data d = testing::random_conv_data<float>(c.g, 13);
      testing::expect_same_bits_on_one_to_four_threads([&] { return run_forward(c.g, d, level); });
    }
  }
}

// The forward takes stride 1 of one group with some output; the backward keeps dense "same".
TEST(ConvFastDilatedForward, DeclinesStridesGroupsAndTheBackward) {
  const SimdLevel level = runtime::best_simd_level();
  if (level == SimdLevel::kNone) GTEST_SKIP() << "no SIMD kernels on this CPU";
  const ConvGeometry base = dilated({2, 4, 12, 12, 6, 3, 3, 1, 1}, 2, 2);
  EXPECT_TRUE(conv2d_fast_forward_covers(base, level));
  EXPECT_FALSE(conv2d_fast_covers(base, level)) << "the backward";
  EXPECT_FALSE(conv2d_fast_forward_covers(base, SimdLevel::kNone)) << "no SIMD kernels";
  EXPECT_FALSE(conv2d_fast_forward_covers(dilated({2, 4, 12, 12, 6, 3, 3, 2, 2}, 2, 2), level))
      << "stride 2";
  ConvGeometry grouped = base;
  grouped.groups = 2;
  EXPECT_FALSE(conv2d_fast_forward_covers(grouped, level)) << "groups";
  EXPECT_FALSE(conv2d_fast_forward_covers(
      padded(dilated({2, 4, 3, 12, 6, 3, 3, 1, 1}, 2, 2), 0, 0, 0, 0), level))
      << "no output rows";
  EXPECT_FALSE(conv2d_fast_forward_covers(dilated({2, 4, 12, 12, 6, 3, 9, 1, 1}, 2, 2), level))
      << "kernel wider than 8";
  std::vector<float> values(base.input_size() + base.weights_size() + base.output_size(), 1.0f);
  std::vector<float> workspace, gradient(base.weights_size(), 7.0f);
  EXPECT_FALSE(conv2d_backward_fast(base, values.data(), values.data(), values.data(), nullptr,
                                    gradient.data(), gradient.data(), workspace, level));
  EXPECT_EQ(gradient, std::vector<float>(base.weights_size(), 7.0f)) << "declined, yet wrote";
}

// The edge rows' kernel rows with dilation: kernel row u of output row i reads padded row
// i + 2u, image row i + 2u - pad.
TEST(ConvFastDilatedForward, ValidKernelRowsCountDilatedRows) {
  const ConvGeometry same = dilated({1, 1, 13, 11, 1, 3, 3, 1, 1}, 2, 2);  // pads 2 and 2
  const auto rows = [](const ConvGeometry& g, std::size_t i) {
    const KernelRows r = valid_kernel_rows(g, i);
    return std::vector<std::size_t>{r.begin, r.end};
  };
  EXPECT_EQ(rows(same, 0), (std::vector<std::size_t>{1, 3})) << "padded rows 0, 2, 4";
  EXPECT_EQ(rows(same, 1), (std::vector<std::size_t>{1, 3})) << "padded rows 1, 3, 5";
  EXPECT_EQ(rows(same, 2), (std::vector<std::size_t>{0, 3}));
  EXPECT_EQ(rows(same, 10), (std::vector<std::size_t>{0, 3})) << "padded rows 10 to 14";
  EXPECT_EQ(rows(same, 11), (std::vector<std::size_t>{0, 2})) << "padded row 15 is below";
  EXPECT_EQ(rows(same, 12), (std::vector<std::size_t>{0, 2}));
  // Padding past the span above: output row 0 reads padded rows 0, 2, 4, all above the image.
  const ConvGeometry deep = padded(dilated({1, 1, 6, 4, 1, 3, 3, 1, 1}, 2, 2), 5, 0, 0, 0);
  EXPECT_EQ(rows(deep, 0), (std::vector<std::size_t>{3, 3})) << "empty";
  EXPECT_EQ(rows(deep, 1), (std::vector<std::size_t>{2, 3})) << "padded row 5 is image row 0";
  EXPECT_EQ(plan_forward(same, SimdLevel::kAvx2, 1).edge_top, 2u);
  EXPECT_EQ(plan_forward(deep, SimdLevel::kAvx2, 1).edge_top, 0u) << "row 0 has no taps";
}

}  // namespace
}  // namespace cnnkit::kernels
