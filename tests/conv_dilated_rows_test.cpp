// The row view of 1-D dilated convolutions (kernels/conv2d_dilated_rows.hpp) against the
// plain-loop reference in double, at every SIMD level this CPU runs: forward, input error, weight
// and bias gradient, for dilations 2 to 4, kernels of 3 and 5 taps, 1-D along y and along x,
// "same" written or implicit, lengths and channel counts off the registers, as in
// conv_dilated_test.cpp (the bound on |kernel - reference| is scaled by the sums over absolute
// values). Then the same bits on 1 to 4 threads, the entry point conv2d_backward, and what the
// view declines.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "conv_kernel_test_data.hpp"
#include "conv_same_bits_on_threads.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_dilated_rows.hpp"

namespace cnnkit::kernels {
namespace {

using runtime::SimdLevel;
using testing::KernelResults;

using Case = testing::ConvCase;
using testing::describe;

// A 1-D convolution of `length` values along y (x = 1), or along x (y = 1) when `along_x`.
ConvGeometry one_d(std::size_t batch, std::size_t channels, std::size_t length, std::size_t kernels,
                   std::size_t taps, std::size_t dilation, bool along_x) {
  ConvGeometry g{batch, channels, length, 1, kernels, taps, 1, 1, 1};
  g.dilation_y = dilation;
  if (along_x) {
    std::swap(g.in_y, g.in_x);
    std::swap(g.kernel_y, g.kernel_x);
    std::swap(g.dilation_y, g.dilation_x);
  }
  return g;
}

// The padding d (k-1)/2 on both sides written out (the Conv layer's explicit "same").
ConvGeometry written_same(ConvGeometry g) {
  g.explicit_padding = true;
  g.pad_top = g.pad_bottom = (g.span_y() - 1) / 2;
  g.pad_left = g.pad_right = (g.span_x() - 1) / 2;
  return g;
}

std::vector<Case> cases() {
  return {
      {one_d(5, 7, 36, 9, 3, 2, false), "along y, d2 k3, more samples than threads"},
      {one_d(3, 5, 39, 6, 3, 3, true), "along x, d3 k3"},
      {written_same(one_d(2, 4, 44, 11, 3, 4, false)), "along y, d4 k3, padding written"},
      {one_d(1, 3, 30, 17, 5, 2, true), "along x, d2 k5, one sample, K past a register"},
      {written_same(one_d(4, 33, 12, 20, 5, 3, false)), "along y, d3 k5 on 12: 4 rows"},
      {one_d(2, 6, 8, 5, 3, 4, false), "along y, d4 k3 on 8: 2 rows of 4"},
  };
}

using Data = testing::ConvData<float>;

KernelResults<float> run_rows(const ConvGeometry& g, const Data& d, SimdLevel level) {
  return testing::run_both_passes(g, d, conv2d_forward_dilated_rows, conv2d_backward_dilated_rows,
                                  1 << 12, level);
}

TEST(ConvDilatedRows, MatchesTheReferenceAtEveryLevel) {
  ASSERT_FALSE(testing::simd_kernel_levels().empty())
      << "this CPU runs none of the SIMD levels the view needs";
  for (SimdLevel level : testing::simd_kernel_levels()) {
    for (const Case& c : cases()) {
      SCOPED_TRACE(std::string(c.what) + " [" + describe(c.g) + "] " + to_string(level));
      ASSERT_TRUE(conv2d_dilated_rows_covers(c.g, level));
      const Data d = testing::random_conv_data<float>(c.g, 7);
      testing::expect_conv_results_close(c.g, d, run_rows(c.g, d, level), 2e-6, 2e-6);
    }
  }
}

TEST(ConvDilatedRows, SameBitsOnOneToFourThreads) {
  for (SimdLevel level : testing::simd_kernel_levels()) {
    for (const Case& c : cases()) {
      SCOPED_TRACE(describe(c.g) + " " + to_string(level));
      const Data d = testing::random_conv_data<float>(c.g, 13);
      testing::expect_same_bits_on_one_to_four_threads([&] { return run_rows(c.g, d, level); });
    }
  }
}

// conv2d_backward sends the covered geometries here: its results are the view's, bit for bit,
// also without the input error (a network's first layer).
TEST(ConvDilatedRows, IsTheBackwardOfTheEntryPoint) {
  if (runtime::best_simd_level() == SimdLevel::kNone) GTEST_SKIP() << "no SIMD kernels";
  const ConvGeometry g = one_d(3, 8, 64, 12, 3, 4, false);
  const Data d = testing::random_conv_data<float>(g, 5);
  const KernelResults<float> view = run_rows(g, d, runtime::best_simd_level());
  KernelResults<float> entry = testing::nan_conv_results<float>(g);
  std::vector<float> workspace;
  conv2d_backward(g, d.input.data(), d.weights.data(), d.error.data(), entry.input_error.data(),
                  entry.weight_gradient.data(), entry.bias_gradient.data(), workspace);
  EXPECT_EQ(view.input_error, entry.input_error);
  EXPECT_EQ(view.weight_gradient, entry.weight_gradient);
  EXPECT_EQ(view.bias_gradient, entry.bias_gradient);
  KernelResults<float> first = testing::nan_conv_results<float>(g);
  conv2d_backward<float>(g, d.input.data(), d.weights.data(), d.error.data(), nullptr,
                         first.weight_gradient.data(), first.bias_gradient.data(), workspace);
  EXPECT_EQ(view.weight_gradient, first.weight_gradient);
  EXPECT_EQ(view.bias_gradient, first.bias_gradient);
}

TEST(ConvDilatedRows, DeclinesWhatIsNotARowView) {
  const SimdLevel level = runtime::best_simd_level();
  const ConvGeometry base = one_d(2, 4, 24, 6, 3, 2, false);
  if (level == SimdLevel::kNone) {
    EXPECT_FALSE(conv2d_dilated_rows_covers(base, level));
    return;
  }
  EXPECT_TRUE(conv2d_dilated_rows_covers(base, level));
  EXPECT_FALSE(conv2d_dilated_rows_covers(base, SimdLevel::kNone)) << "no SIMD kernels";
  EXPECT_FALSE(conv2d_dilated_rows_covers(one_d(2, 4, 24, 6, 3, 1, false), level)) << "no dilation";
  EXPECT_FALSE(conv2d_dilated_rows_covers(one_d(2, 4, 25, 6, 3, 2, false), level))
      << "length not a multiple of d";
  EXPECT_FALSE(conv2d_dilated_rows_covers(one_d(2, 4, 24, 6, 4, 2, false), level)) << "even kernel";
  ConvGeometry valid = base;
  valid.explicit_padding = true;
  EXPECT_FALSE(conv2d_dilated_rows_covers(valid, level)) << "valid";
  ConvGeometry uneven = written_same(base);
  uneven.pad_bottom += 2;
  EXPECT_FALSE(conv2d_dilated_rows_covers(uneven, level)) << "more padding after";
  ConvGeometry strided = base;
  strided.stride_y = 2;
  EXPECT_FALSE(conv2d_dilated_rows_covers(strided, level)) << "stride 2";
  ConvGeometry grouped = base;
  grouped.groups = 2;
  EXPECT_FALSE(conv2d_dilated_rows_covers(grouped, level)) << "groups";
  ConvGeometry two_d{2, 4, 24, 24, 6, 3, 3, 1, 1};
  two_d.dilation_y = two_d.dilation_x = 2;
  EXPECT_FALSE(conv2d_dilated_rows_covers(two_d, level)) << "2-D";

  std::vector<float> workspace;
  std::vector<float> values(valid.input_size(), 1.0f);
  std::vector<float> output(4, 7.0f);
  EXPECT_FALSE(conv2d_forward_dilated_rows(valid, values.data(), values.data(), values.data(),
                                           output.data(), workspace, level));
  EXPECT_EQ(output, std::vector<float>(4, 7.0f)) << "declined, yet wrote";
}

}  // namespace
}  // namespace cnnkit::kernels
