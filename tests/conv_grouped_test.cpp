// The grouped SIMD path (conv2d_forward_grouped_fast / conv2d_backward_grouped_fast, groups from 2
// to C - 1) against the plain-loop reference in double, at every SIMD level this CPU runs:
// forward (each group's planes read and written where they lie in the whole tensors), input
// error, weight and bias gradient, for 2 to 4 groups, odd sizes, group sizes off the registers,
// stride 2, "same" written out, 1-D, one sample (the kernels' split among threads). The bound on
// |kernel - reference| is scaled by the sums over absolute values, as in conv_dilated_test.cpp.
// Then the same bits on 1 to 4 threads, and what the path declines.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "conv_kernel_test_data.hpp"
#include "conv_same_bits_on_threads.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_fast.hpp"
#include "kernels/im2col.hpp"

namespace cnnkit::kernels {
namespace {

using runtime::SimdLevel;
using testing::KernelResults;

using Case = testing::ConvCase;
using testing::describe;

ConvGeometry grouped(ConvGeometry g, std::size_t groups) {
  g.groups = groups;
  return g;
}

// {N, C, Y, X, K, m, n, sy, sx}
std::vector<Case> cases() {
  ConvGeometry written = grouped({3, 6, 9, 10, 9, 3, 3, 1, 1}, 3);
  written.explicit_padding = true;
  written.pad_top = written.pad_bottom = written.pad_left = written.pad_right = 1;
  return {
      {grouped({5, 8, 13, 11, 12, 3, 3, 1, 1}, 4), "4 groups of 2 to 3, more samples than threads"},
      {grouped({3, 34, 9, 7, 20, 3, 3, 1, 1}, 2), "2 groups of 17 to 10, past a register"},
      {grouped({2, 9, 15, 16, 24, 5, 5, 2, 2}, 3), "3 groups 5x5 stride 2"},
      {grouped({1, 64, 14, 14, 64, 3, 3, 1, 1}, 4), "one sample: kernel groups split"},
      {written, "3 groups, \"same\" written out"},
      {grouped({4, 6, 37, 1, 10, 5, 1, 1, 1}, 2), "1-D along y, 2 groups"},
      {grouped({2, 12, 1, 29, 8, 1, 3, 1, 1}, 4), "1-D along x, 4 groups"},
  };
}

using Data = testing::ConvData<float>;

KernelResults<float> run_grouped(const ConvGeometry& g, const Data& d, SimdLevel level) {
  return testing::run_both_passes(g, d, conv2d_forward_grouped_fast, conv2d_backward_grouped_fast,
                                  1 << 16, level);
}

TEST(ConvGrouped, MatchesTheReferenceAtEveryLevel) {
  ASSERT_FALSE(testing::simd_kernel_levels().empty())
      << "this CPU runs none of the SIMD levels the path needs";
  for (SimdLevel level : testing::simd_kernel_levels()) {
    for (const Case& c : cases()) {
      SCOPED_TRACE(std::string(c.what) + " [" + describe(c.g) + "] " + to_string(level));
      ASSERT_TRUE(conv2d_fast_covers(group_view(c.g), level));
      const Data d = testing::random_conv_data<float>(c.g, 7);
      testing::expect_conv_results_close(c.g, d, run_grouped(c.g, d, level), 2e-6, 2e-6);
    }
  }
}

TEST(ConvGrouped, SameBitsOnOneToFourThreads) {
  for (SimdLevel level : testing::simd_kernel_levels()) {
    for (const Case& c : cases()) {
      SCOPED_TRACE(describe(c.g) + " " + to_string(level));
      const Data d = testing::random_conv_data<float>(c.g, 13);
      testing::expect_same_bits_on_one_to_four_threads([&] { return run_grouped(c.g, d, level); });
    }
  }
}

// Without the input error (a network's first layer) the gradients are the same bits.
TEST(ConvGrouped, GradientsWithoutTheInputError) {
  for (SimdLevel level : testing::simd_kernel_levels()) {
    const ConvGeometry g = cases().front().g;
    const Data d = testing::random_conv_data<float>(g, 3);
    const KernelResults<float> both = run_grouped(g, d, level);
    KernelResults<float> first = testing::nan_conv_results<float>(g);
    std::vector<float> workspace;
    EXPECT_TRUE(conv2d_backward_grouped_fast(g, d.input.data(), d.weights.data(), d.error.data(),
                                             nullptr, first.weight_gradient.data(),
                                             first.bias_gradient.data(), workspace, level));
    EXPECT_EQ(both.weight_gradient, first.weight_gradient);
    EXPECT_EQ(both.bias_gradient, first.bias_gradient);
  }
}

TEST(ConvGrouped, DeclinesWhatTheSimdKernelsDoNotCoverPerGroup) {
  const SimdLevel level = runtime::best_simd_level();
  const ConvGeometry base = grouped({2, 8, 10, 10, 8, 3, 3, 1, 1}, 2);
  std::vector<float> workspace;
  std::vector<float> values(base.input_size(), 1.0f);
  std::vector<float> output(base.output_size(), 7.0f);
  const auto declines = [&](const ConvGeometry& g, SimdLevel at) {
    return !conv2d_forward_grouped_fast(g, values.data(), values.data(), values.data(),
                                        output.data(), workspace, at);
  };
  EXPECT_TRUE(declines(base, SimdLevel::kNone)) << "no SIMD kernels";
  EXPECT_TRUE(declines(grouped(base, 1), level)) << "one group";
  ConvGeometry valid = base;
  valid.explicit_padding = true;
  EXPECT_TRUE(declines(valid, level)) << "valid";
  ConvGeometry dilated = base;
  dilated.dilation_y = dilated.dilation_x = 2;
  EXPECT_TRUE(declines(dilated, level)) << "dilation";
  EXPECT_EQ(output, std::vector<float>(base.output_size(), 7.0f)) << "declined, yet wrote";
  if (level != SimdLevel::kNone) {
    EXPECT_FALSE(declines(base, level));
  }
}

}  // namespace
}  // namespace cnnkit::kernels
