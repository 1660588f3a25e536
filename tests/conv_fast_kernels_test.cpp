// The SIMD convolution kernels (kernels/conv2d_fast.hpp) against the plain-loop reference, one
// table row per geometry, at every instruction-set level this CPU runs: forward, input error,
// weight and bias gradient. The reference runs in double; the bound on |fast - reference| is
// scaled by the same sums taken over absolute values (the condition of each output), so a single
// missing or doubled term fails while float rounding passes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cnnkit/threading.hpp"
#include "conv_kernel_test_data.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_fast.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit::kernels {
namespace {

using runtime::best_simd_level;
using runtime::SimdLevel;

using Case = testing::ConvCase;
using testing::describe;

// {N, C, Y, X, K, m, n, sy, sx}
std::vector<Case> fixed_cases() {
  return {
      {{2, 1, 28, 28, 6, 5, 5, 1, 1}, "W1 conv1 / W3 a (pixel-vector)"},
      {{3, 6, 14, 14, 16, 5, 5, 1, 1}, "W1 conv2 / W3 b"},
      {{2, 64, 9, 11, 64, 3, 3, 1, 1}, "two registers of kernels (W3 c)"},
      {{2, 5, 4, 33, 96, 3, 3, 1, 1}, "planar output: three groups, three blocks per row"},
      {{3, 7, 5, 17, 32, 3, 3, 1, 1}, "planar output: a block of 8 pixels and one of 9"},
      {{2, 96, 9, 20, 8, 3, 3, 2, 1}, "planar input error: three groups, vertical stride 2"},
      {{3, 64, 8, 10, 64, 3, 3, 2, 2}, "stride 2, two registers (W3 d)"},
      {{3, 32, 10, 9, 48, 3, 3, 2, 2}, "stride 2, three kernel registers"},
      {{2, 8, 16, 16, 32, 3, 3, 2, 2}, "stride 2, rows of 16 floats (W3 d's split)"},
      {{2, 5, 13, 17, 7, 4, 2, 3, 1}, "even kernel, strides 3 and 1"},
      {{2, 3, 7, 1, 5, 3, 1, 2, 1}, "1-D (x = 1), stride 2"},
      {{2, 4, 9, 1, 4, 4, 1, 1, 1}, "1-D even kernel"},
      {{2, 3, 1, 9, 4, 1, 3, 1, 3}, "1-D along x, stride 3"},
      {{1, 7, 5, 6, 9, 1, 1, 1, 1}, "1x1"},
      {{2, 17, 6, 7, 33, 1, 1, 2, 3}, "1x1 strided"},
      {{5, 1, 8, 8, 4, 3, 3, 1, 1}, "W2 digits"},
      {{2, 20, 11, 40, 3, 3, 5, 1, 2}, "wide rows, strided pixel-vector forward"},
      {{2, 3, 5, 5, 2, 5, 5, 1, 1}, "kernel as large as the image"},
      {{2, 18, 6, 6, 40, 2, 2, 2, 2}, "2x2 stride 2"},
      {{1, 2, 3, 40, 3, 3, 8, 1, 4}, "widest kernel, stride 4"},
      {{3, 40, 7, 37, 2, 3, 3, 1, 1}, "many channels, two kernels"},
      {{2, 2, 33, 35, 19, 3, 3, 1, 1}, "few channels, long rows (pixel-vector input error)"},
      {{7, 3, 4, 4, 5, 3, 3, 1, 1}, "more samples than threads, odd split"},
      {{2, 5, 6, 6, 24, 3, 3, 1, 1}, "pixel pairs (one register of 8 kernels x 2 pixels)"},
      {{3, 4, 11, 12, 40, 3, 3, 2, 2}, "pixel pairs, stride 2"},
      {{2, 3, 7, 6, 20, 3, 3, 1, 1}, "pixel pairs, kernels padded to the block"},
      {{2, 3, 5, 32, 16, 3, 3, 1, 1}, "pixel pairs, two blocks per row"},
      {{1, 70, 6, 6, 32, 5, 5, 1, 1}, "taps in two chunks (sums carried between them)"},
      {{1, 100, 6, 6, 16, 7, 7, 1, 1}, "pixel pairs, taps in four chunks"},
      {{1, 16, 5, 6, 130, 7, 7, 1, 1}, "input error with its kernels in three chunks"},
      {{12, 3, 16, 16, 32, 3, 3, 1, 1}, "three weight-gradient passes per sample group"},
      {{20, 1, 32, 32, 4, 3, 3, 1, 1}, "two pixel-vector weight-gradient passes per group"},
      {{2, 3, 2, 9, 20, 5, 5, 1, 1}, "kernel rows in the padding above and below every row"},
      {{2, 4, 12, 6, 24, 11, 3, 1, 1}, "more edge rows than edge tables (rows 4 and 7)"},
      {{2, 5, 10, 9, 32, 7, 3, 3, 1}, "edge rows with vertical stride 3"},
      {{2, 32, 2, 9, 20, 5, 5, 1, 1}, "input error: every row of E's padding on both sides"},
      {{2, 40, 12, 6, 24, 11, 3, 1, 1}, "input error: more edge rows than edge tables"},
      {{2, 40, 10, 9, 32, 7, 3, 3, 2}, "input error: edge rows of three row phases"},
      {{2, 9, 10, 12, 16, 3, 3, 1, 1}, "weight gradient read directly, in column pairs"},
      {{2, 3, 6, 10, 16, 7, 7, 1, 1}, "pixel pairs skipping 2 kernel columns at either end"},
      {{2, 8, 5, 12, 32, 5, 5, 1, 1}, "planar row of single pixels skipping edge columns"},
      {{2, 8, 9, 11, 32, 5, 5, 2, 2}, "edge columns skipped at stride 2"},
      {{2, 4, 6, 9, 32, 4, 4, 1, 1}, "edge columns of an even kernel: 1 left, 2 right"},
      {{2, 3, 3, 3, 32, 7, 7, 1, 1}, "3 of 7 kernel columns skipped on either side"},
      {{2, 8, 7, 7, 24, 3, 3, 1, 1}, "edge columns skipped into the channel-blocked scratch"},
      {{5, 16, 12, 14, 32, 3, 3, 2, 2}, "stride 2 read in place, five samples of 14 columns"},
      {{1, 4, 24, 16, 32, 19, 3, 2, 2}, "stride 2 not in place: padded rows past the edge tables"},
      {{2, 8, 9, 16, 32, 7, 7, 2, 2}, "stride 2 not in place: the second pixel reads padding"},
      {{2, 1, 20, 23, 12, 7, 7, 3, 3}, "pixel-vector input error in 9 phases, one channel"},
      {{3, 2, 19, 22, 10, 6, 6, 3, 3}, "pixel-vector input error, even kernel, stride 3"},
      {{2, 3, 17, 30, 8, 4, 5, 2, 3}, "pixel-vector input error, strides 2 and 3, even kernel"},
      {{2, 1, 40, 1, 20, 4, 1, 3, 1}, "1-D even kernel, stride 3, pixel-vector input error"},
      {{2, 1, 1, 35, 12, 1, 6, 1, 2}, "1-D along x, kernel 6, stride 2"},
      {{2, 32, 18, 18, 24, 1, 1, 3, 3}, "1x1 stride 3: one row and phase in three copied"},
      {{2, 5, 13, 16, 7, 2, 2, 3, 3}, "2x2 kernel, stride 3: two rows and phases of three"},
      {{1, 32, 20, 20, 256, 4, 4, 2, 2}, "one sample, kernel groups split among threads"},
      {{1, 16, 24, 30, 40, 3, 3, 1, 1}, "one sample split, pixel-vector forward"},
      {{1, 16, 20, 17, 48, 3, 3, 1, 1}, "one sample split, channel-blocked scratch"},
      {{1, 16, 20, 18, 48, 3, 3, 1, 1}, "one sample split, pixel pairs"},
      {{2, 8, 30, 30, 64, 5, 5, 3, 3}, "two samples split, stride 3"},
      {{1, 3, 12, 13, 96, 2, 2, 1, 1}, "weight gradient: 6 kernel rows in one block of 6"},
      {{2, 16, 9, 10, 16, 3, 3, 1, 1}, "weight gradient read directly in blocks of 8 rows of 9"},
      {{2, 16, 10, 11, 32, 1, 1, 2, 2},
       "1x1 stride 2, weight gradient read directly, 8 rows of 14"},
      {{2, 11, 7, 9, 12, 4, 3, 1, 2}, "weight gradient: 44 kernel rows in 5 blocks of 8 or 9"},
      {{2, 16, 8, 10, 16, 3, 3, 1, 1}, "input error as a forward pass in pixel pairs (W4)"},
      {{4, 8, 1, 32, 32, 1, 6, 1, 2}, "weight gradient: 4 samples of 16 pixels in one group"},
      {{6, 5, 8, 8, 20, 3, 3, 1, 1}, "weight gradient: 6 samples of 64 pixels in 2 groups"},
      {{1, 2, 120, 130, 20, 3, 3, 1, 1}, "E's padded copy beyond 1 MiB, cleared by its border"},
      {{1, 3, 60, 61, 96, 2, 2, 1, 1}, "one sample split, 3 groups in pieces of rows (planar)"},
      {{1, 8, 40, 17, 48, 3, 3, 1, 1}, "one sample split, pieces of rows, channel-blocked"},
      {{1, 8, 120, 20, 24, 3, 3, 1, 1}, "one sample split, pieces of rows, pixel pairs"},
      {{1, 4, 100, 30, 20, 3, 3, 1, 1}, "one sample split, pieces of rows, pixel-vector"},
      {{2, 8, 7, 12, 24, 5, 5, 1, 1}, "input error as a forward pass, 5x5, edge rows"},
      {{3, 12, 5, 6, 20, 3, 3, 1, 1}, "input error as a forward pass, channels padded to 16"},
      {{2, 8, 20, 1, 12, 3, 1, 1, 1}, "input error as a forward pass, 1-D"},
      {{2, 24, 20, 22, 16, 6, 6, 3, 3}, "input error of 24 channels: AVX2 one-register ovec"},
      {{2, 2, 29, 29, 8, 5, 5, 2, 2}, "8 kernels, odd rows: AVX2 one-register ovec forward"},
      {{2, 2, 10, 15, 48, 3, 3, 1, 1}, "weight gradient of 18 taps per pixel: dwp over 15 columns"},
      {{2, 1, 23, 25, 12, 7, 7, 3, 3}, "input error in row taps: 3 and 2 kernel rows per phase"},
      {{2, 1, 29, 17, 10, 8, 3, 2, 1}, "input error in row taps: 4 kernel rows per phase"},
      {{2, 1, 21, 19, 6, 4, 4, 1, 1}, "input error in row taps at stride 1, even kernel"},
      {{2, 1, 20, 18, 8, 4, 3, 3, 2}, "input error in row taps beside phases of one row"},
      {{2, 2, 38, 30, 6, 5, 5, 3, 3}, "input error in row taps, bands of 13 and 12 rows"},
      {{1, 20, 13, 11, 12, 3, 4, 2, 1}, "one sample's input error in 4 pieces of rows, 2 phases"},
      {{1, 32, 9, 10, 8, 4, 4, 1, 1}, "one sample's input error in 2 pieces of rows, planar"},
      {{1, 24, 17, 9, 40, 5, 3, 3, 2}, "input error in 3 pieces of rows: edge rows, 6 phases"},
      {{1, 6, 32, 34, 250, 3, 3, 2, 2}, "weight gradient: kernel blocks outermost, K padded"},
      {{2, 6, 32, 34, 256, 3, 3, 2, 2}, "weight gradient: kernel blocks outermost, 2 groups"},
      {{2, 1, 1, 600, 12, 1, 5, 1, 3}, "1-D input error in lines of registers, phases of 200"},
      {{2, 2, 1, 150, 6, 1, 4, 1, 1}, "1-D input error in lines of registers, stride 1"},
      {{2, 1, 9, 31, 12, 1, 5, 2, 2}, "dwp weight gradient at stride 2: 5 taps, 2 phases"},
      {{3, 2, 11, 29, 5, 1, 3, 1, 3}, "dwp weight gradient at stride 3: 6 taps, 3 phases"},
      {{6, 1, 112, 1, 256, 4, 1, 3, 1}, "1-D dwp weight gradient at stride 3 (AVX2), 4 taps"},
  };
}

// 64-byte aligned room for `floats` floats in `storage`, as conv2d_backward_fast gives its plan.
float* aligned_workspace(std::vector<float>& storage, std::size_t floats) {
  storage.assign(floats + 16, 0.0f);
  const auto address = reinterpret_cast<std::uintptr_t>(storage.data());
  return storage.data() + (64 - address % 64) % 64 / sizeof(float);
}

std::vector<Case> random_cases() {
  std::mt19937 engine(1234);
  auto pick = [&engine](std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(engine);
  };
  std::vector<Case> cases;
  for (int i = 0; i < 24; ++i) {
    cases.push_back({{pick(1, 4), pick(1, 40), pick(1, 19), pick(1, 19), pick(1, 40), pick(1, 5),
                      pick(1, 5), pick(1, 3), pick(1, 3)},
                     "random"});
  }
  return cases;
}

std::vector<SimdLevel> levels() {
  return testing::simd_kernel_levels();
}

using Outputs = testing::KernelResults<float>;
using Data = testing::ConvData<float>;

Data random_data(const ConvGeometry& g, unsigned seed) {
  return testing::random_conv_data<float>(g, seed);
}

Outputs run_fast(const ConvGeometry& g, const Data& d, SimdLevel level,
                 std::vector<float>& workspace) {
  Outputs o = testing::nan_conv_results<float>(g);  // every element must be written
  EXPECT_TRUE(conv2d_forward_fast(g, d.input.data(), d.weights.data(), d.bias.data(),
                                  o.output.data(), workspace, level));
  EXPECT_TRUE(conv2d_backward_fast(g, d.input.data(), d.weights.data(), d.error.data(),
                                   o.input_error.data(), o.weight_gradient.data(),
                                   o.bias_gradient.data(), workspace, level));
  return o;
}

void check_against_reference(const Case& c, SimdLevel level) {
  const ConvGeometry& g = c.g;
  const std::string what = std::string(c.what) + " [" + describe(g) + "] " + to_string(level);
  SCOPED_TRACE(what);
  ASSERT_TRUE(conv2d_fast_covers(g, level));
  const Data d = random_data(g, 7);
  std::vector<float> workspace;
  const Outputs fast = run_fast(g, d, level, workspace);

  // |fast - exact| <= tolerance * (sum of |terms|) + tiny, element by element.
  testing::expect_conv_results_close(g, d, fast, 2e-6, 1e-6);
}

// The tests that loop over levels(): skipped, not passed, on a CPU without any of them.
class ConvFastKernelsAtEachLevel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (levels().empty()) GTEST_SKIP() << "no SIMD level of the fast kernels (AVX2) on this CPU";
  }
};

TEST_F(ConvFastKernelsAtEachLevel, MatchReferenceOnFixedGeometries) {
  for (SimdLevel level : levels()) {
    for (const Case& c : fixed_cases()) check_against_reference(c, level);
  }
}

TEST_F(ConvFastKernelsAtEachLevel, MatchReferenceOnRandomGeometries) {
  for (SimdLevel level : levels()) {
    for (const Case& c : random_cases()) check_against_reference(c, level);
  }
}

TEST_F(ConvFastKernelsAtEachLevel, RepeatedRunsAreBitIdenticalAndReuseTheWorkspace) {
  for (SimdLevel level : levels()) {
    for (const Case& c : fixed_cases()) {
      SCOPED_TRACE(describe(c.g) + " " + to_string(level));
      const Data d = random_data(c.g, 11);
      std::vector<float> workspace;
      const Outputs first = run_fast(c.g, d, level, workspace);
      const float* storage = workspace.data();
      const std::size_t size = workspace.size();
      const Outputs second = run_fast(c.g, d, level, workspace);
      EXPECT_EQ(workspace.data(), storage) << "the second call reallocated its workspace";
      EXPECT_EQ(workspace.size(), size);
      EXPECT_EQ(first.output, second.output);
      EXPECT_EQ(first.input_error, second.input_error);
      EXPECT_EQ(first.weight_gradient, second.weight_gradient);
      EXPECT_EQ(first.bias_gradient, second.bias_gradient);
    }
  }
}

// The scratch a call reads must be written by the call: a workspace left full of NaN by
// whatever used it before gives the same bits (the padded copies clear only their borders).
TEST_F(ConvFastKernelsAtEachLevel, AWorkspaceFullOfNaNGivesTheSameBits) {
  const testing::ThreadCountGuard guard;
  for (SimdLevel level : levels()) {
    for (const std::size_t threads : {1, 2}) {
      set_num_threads(threads);
      for (const Case& c : fixed_cases()) {
        SCOPED_TRACE(describe(c.g) + " " + to_string(level) + ", " + std::to_string(threads) +
                     " threads");
        const Data d = random_data(c.g, 19);
        std::vector<float> workspace;
        const Outputs clean = run_fast(c.g, d, level, workspace);
        std::fill(workspace.begin(), workspace.end(), std::nanf(""));
        const Outputs poisoned = run_fast(c.g, d, level, workspace);
        EXPECT_EQ(clean.output, poisoned.output);
        EXPECT_EQ(clean.input_error, poisoned.input_error);
        EXPECT_EQ(clean.weight_gradient, poisoned.weight_gradient);
        EXPECT_EQ(clean.bias_gradient, poisoned.bias_gradient);
      }
    }
  }
}

TEST_F(ConvFastKernelsAtEachLevel, ResultsDoNotDependOnTheThreadCount) {
  const testing::ThreadCountGuard guard;
  for (SimdLevel level : levels()) {
    for (const Case& c : fixed_cases()) {
      SCOPED_TRACE(describe(c.g) + " " + to_string(level));
      const Data d = random_data(c.g, 13);
      std::vector<float> workspace;
      set_num_threads(1);
      const Outputs one = run_fast(c.g, d, level, workspace);
      for (const std::size_t threads : {2, 3, 4}) {
        SCOPED_TRACE(std::to_string(threads) + " threads");
        set_num_threads(threads);
        const Outputs more = run_fast(c.g, d, level, workspace);
        EXPECT_EQ(one.output, more.output);
        EXPECT_EQ(one.input_error, more.input_error);
        // The gradients sum one partial per group of samples, the groups fixed by the batch for
        // up to kFastGradientGroups threads: the same bits too.
        EXPECT_EQ(one.weight_gradient, more.weight_gradient);
        EXPECT_EQ(one.bias_gradient, more.bias_gradient);
      }
    }
  }
}

TEST(ConvFastKernels, DeclinesWhatItDoesNotCoverAndTouchesNothing) {
  // Stride 5 and a 9-wide kernel are left to the GEMM path.
  for (const ConvGeometry& g :
       {ConvGeometry{1, 2, 9, 9, 3, 3, 3, 5, 1}, ConvGeometry{1, 2, 9, 12, 3, 3, 9, 1, 1}}) {
    const Data d = random_data(g, 17);
    std::vector<float> output(g.output_size(), 42.0f), workspace;
    EXPECT_FALSE(conv2d_forward_fast(g, d.input.data(), d.weights.data(), d.bias.data(),
                                     output.data(), workspace));
    EXPECT_TRUE(std::all_of(output.begin(), output.end(), [](float v) { return v == 42.0f; }));
    EXPECT_TRUE(workspace.empty());
  }
  EXPECT_FALSE(conv2d_fast_covers({1, 1, 4, 4, 1, 3, 3, 1, 1}, SimdLevel::kNone));
}

// Pairs of neighbouring columns (dw_block's Q = 2) take each sum's pixels in the same order as
// one pixel at a time, so the weight gradient is the same bit for bit; a pair that swapped its
// pixels or read the wrong column would show here even where the reference allows rounding.
// The cases: W3 b's padded copy, a direct weight gradient whose full column group is even, and
// odd rows (pairs only where a run of columns is even).
TEST(ConvFastKernels, ColumnPairsGiveTheWeightGradientOfOnePixelAtATime) {
  if (best_simd_level() != SimdLevel::kAvx512) GTEST_SKIP() << "one register of 16 kernels";
  for (const ConvGeometry& g :
       {ConvGeometry{3, 6, 14, 14, 16, 5, 5, 1, 1}, ConvGeometry{2, 9, 10, 12, 16, 3, 3, 1, 1},
        ConvGeometry{2, 9, 7, 11, 12, 3, 3, 1, 1}}) {
    SCOPED_TRACE(describe(g));
    FastBackwardPlan pairs = plan_backward(g, SimdLevel::kAvx512, 1);
    ASSERT_TRUE(pairs.dw_column_pairs);
    FastBackwardPlan single = pairs;
    single.dw_column_pairs = false;
    const Data d = random_data(g, 19);
    std::vector<float> input_error(g.input_size()), bias_gradient(g.kernels);
    std::vector<float> with_pairs(g.weights_size()), without(g.weights_size());
    std::vector<float> workspace;
    float* ws = aligned_workspace(workspace, pairs.total);
    detail::conv2d_backward_avx512(pairs, d.input.data(), d.weights.data(), d.error.data(),
                                   input_error.data(), with_pairs.data(), bias_gradient.data(), ws);
    detail::conv2d_backward_avx512(single, d.input.data(), d.weights.data(), d.error.data(),
                                   input_error.data(), without.data(), bias_gradient.data(), ws);
    EXPECT_EQ(with_pairs, without);
  }
}

}  // namespace
}  // namespace cnnkit::kernels
