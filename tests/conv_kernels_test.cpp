// The convolution kernels on their own: hand-computed cases for the reference (the definition),
// im2col against its written-out lowering and its adjoint, and a table of geometries on which
// the fast GEMM kernels must match the reference, deterministically for a given thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "cnnkit/simd_level.hpp"
#include "cnnkit/threading.hpp"
#include "kernel_test_data.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_fast.hpp"
#include "kernels/im2col.hpp"
#include "runtime/simd_level.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit::kernels {
namespace {

using testing::random_values;
using testing::ThreadCountGuard;
template <typename T>
using Results = testing::KernelResults<T>;

TEST(ConvKernels, ReferenceSmoothingKernelMatchesHandComputedCorrelation) {
  // One 4x5 channel, the 3x3 kernel (1/15) [[1,2,1],[2,3,2],[1,2,1]], zero padding of 1.
  const ConvGeometry g{.batch = 1,
                       .channels = 1,
                       .in_y = 4,
                       .in_x = 5,
                       .kernels = 1,
                       .kernel_y = 3,
                       .kernel_x = 3,
                       .stride_y = 1,
                       .stride_x = 1};
  const std::vector<double> image{1, 2, 0, 3, 1,  //
                                  0, 1, 4, 2, 0,  //
                                  2, 0, 1, 1, 3,  //
                                  1, 3, 0, 2, 1};
  std::vector<double> kernel{1, 2, 1, 2, 3, 2, 1, 2, 1};
  for (double& w : kernel) w /= 15.0;
  const std::vector<double> bias{0.0};
  // Numerators (x15) worked out by hand, neighbourhood by neighbourhood, e.g. the corner
  // (0,0) sees only x00, x01, x10, x11: 3*1 + 2*2 + 2*0 + 1*1 = 8; the centre (1,2):
  // (2 + 0 + 3) + (2*1 + 3*4 + 2*2) + (0 + 2*1 + 1) = 26. Re-checked with a separate
  // five-line Python loop.
  const std::vector<double> numerators{8,  14, 21, 19, 11,  //
                                       10, 19, 26, 27, 16,  //
                                       12, 19, 21, 24, 17,  //
                                       13, 14, 13, 14, 14};
  std::vector<double> reference(g.output_size()), fast(g.output_size());
  std::vector<double> workspace;
  conv2d_forward_reference(g, image.data(), kernel.data(), bias.data(), reference.data());
  conv2d_forward(g, image.data(), kernel.data(), bias.data(), fast.data(), workspace);
  for (std::size_t p = 0; p < numerators.size(); ++p) {
    EXPECT_NEAR(reference[p], numerators[p] / 15.0, 1e-14) << "position " << p;
    EXPECT_NEAR(fast[p], numerators[p] / 15.0, 1e-14) << "position " << p;
  }
}

TEST(ConvKernels, ReferenceStridedOneDimensionalForwardAndBackwardByHand) {
  // x = [1 2 3 4 5], w = [1 2 3], stride 2, padding 1 on both sides: xpad = [0 1 2 3 4 5 0].
  // out[i] = 1*xpad[2i] + 2*xpad[2i+1] + 3*xpad[2i+2] = [8, 20, 14]; bias 0.5 on top.
  const ConvGeometry g{.batch = 1,
                       .channels = 1,
                       .in_y = 5,
                       .in_x = 1,
                       .kernels = 1,
                       .kernel_y = 3,
                       .kernel_x = 1,
                       .stride_y = 2,
                       .stride_x = 1};
  const std::vector<double> x{1, 2, 3, 4, 5}, w{1, 2, 3}, bias{0.5};
  std::vector<double> out(3);
  conv2d_forward_reference(g, x.data(), w.data(), bias.data(), out.data());
  EXPECT_EQ(out, (std::vector<double>{8.5, 20.5, 14.5}));

  // E = [1 -1 2]. Input error: each E[i] spreads w over xpad[2i..2i+2]:
  //   xpad-grid = [1 2 3 0 0 0 0] + [0 0 -1 -2 -3 0 0] + [0 0 0 0 2 4 6] -> crop -> [2 2 -2 -1 4].
  // dW[u] = sum_i E[i] xpad[2i+u] = [0-2+8, 1-3+10, 2-4+0] = [6 8 -2]; db = 1 - 1 + 2 = 2.
  const std::vector<double> error{1, -1, 2};
  std::vector<double> input_error(5, std::nan("")), weight_gradient(3, std::nan(""));
  std::vector<double> bias_gradient(1, std::nan(""));
  conv2d_backward_reference(g, x.data(), w.data(), error.data(), input_error.data(),
                            weight_gradient.data(), bias_gradient.data());
  EXPECT_EQ(input_error, (std::vector<double>{2, 2, -2, -1, 4}));
  EXPECT_EQ(weight_gradient, (std::vector<double>{6, 8, -2}));
  EXPECT_EQ(bias_gradient, (std::vector<double>{2}));
}

TEST(ConvKernels, Im2colOfEvenKernelMatchesWrittenOutLowering) {
  // 2x3 image, 2x2 kernel, stride 1: padding 0 before and 1 after, so row (u, v) of the lowered
  // matrix is the image shifted up by u and left by v with zeros flowing in.
  const ConvGeometry g{.batch = 1,
                       .channels = 1,
                       .in_y = 2,
                       .in_x = 3,
                       .kernels = 1,
                       .kernel_y = 2,
                       .kernel_x = 2,
                       .stride_y = 1,
                       .stride_x = 1};
  const std::vector<float> image{1, 2, 3, 4, 5, 6};
  std::vector<float> columns(lowered_rows(g) * lowered_cols(g), -1.0f);
  im2col(g, image.data(), columns.data());
  EXPECT_EQ(columns, (std::vector<float>{1, 2, 3, 4, 5, 6,     // (u,v) = (0,0)
                                         2, 3, 0, 5, 6, 0,     // (0,1)
                                         4, 5, 6, 0, 0, 0,     // (1,0)
                                         5, 6, 0, 0, 0, 0}));  // (1,1)
}

TEST(ConvKernels, Im2colWithStrideAndPaddingMatchesWrittenOutLowering) {
  // 1x4 image row [1 2 3 4] as a 1-D signal along y, kernel 3, stride 3: padding 1 before,
  // outputs at padded positions 0 and 3 -> row u holds xpad[3i + u], xpad = [0 1 2 3 4 0].
  const ConvGeometry g{.batch = 1,
                       .channels = 1,
                       .in_y = 4,
                       .in_x = 1,
                       .kernels = 1,
                       .kernel_y = 3,
                       .kernel_x = 1,
                       .stride_y = 3,
                       .stride_x = 1};
  const std::vector<double> image{1, 2, 3, 4};
  std::vector<double> columns(lowered_rows(g) * lowered_cols(g), -1.0);
  im2col(g, image.data(), columns.data());
  EXPECT_EQ(columns, (std::vector<double>{0, 3, 1, 4, 2, 0}));
}

TEST(ConvKernels, Col2imIsTheAdjointOfIm2col) {
  // <im2col(x), c> = <x, col2im(c)> for every x and c: col2im is exactly the transpose of the
  // lowering, which is what the backward pass needs.
  std::mt19937 engine(3);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  for (const ConvGeometry& g :
       {ConvGeometry{1, 2, 5, 7, 1, 3, 3, 1, 1}, ConvGeometry{1, 3, 6, 5, 1, 4, 2, 2, 3},
        ConvGeometry{1, 1, 4, 9, 1, 2, 5, 3, 2}, ConvGeometry{1, 2, 3, 2, 1, 5, 5, 1, 1},
        ConvGeometry{1, 2, 9, 8, 1, 3, 2, 2, 3, 2, 3, 1, true, 2, 0, 1, 3},
        ConvGeometry{1, 1, 7, 6, 1, 3, 3, 1, 1, 3, 2, 1}}) {
    std::vector<double> x(g.channels * g.in_y * g.in_x), c(lowered_rows(g) * lowered_cols(g));
    for (double& v : x) v = uniform(engine);
    for (double& v : c) v = uniform(engine);
    std::vector<double> lowered(c.size()), image(x.size());
    im2col(g, x.data(), lowered.data());
    col2im(g, c.data(), image.data());
    double left = 0, right = 0;
    for (std::size_t i = 0; i < c.size(); ++i) left += lowered[i] * c[i];
    for (std::size_t i = 0; i < x.size(); ++i) right += x[i] * image[i];
    EXPECT_NEAR(left, right, 1e-12) << "kernel " << g.kernel_y << "x" << g.kernel_x;
  }
}

// ---- Fast kernels against the reference, one row per geometry (add a case = add a row).

struct Row {
  std::string name;
  ConvGeometry g;
};

// 1-D rows are 2-D with x = 1, n = 1, sx = 1, exactly as the layer maps them.
const std::vector<Row>& rows() {
  static const std::vector<Row> table{
      //               N  C   Y   X  K  m  n sy sx
      {"3x3 stride 1", {2, 3, 7, 6, 4, 3, 3, 1, 1}},
      {"5x3 stride 3,2", {1, 2, 10, 14, 3, 5, 3, 3, 2}},
      {"even 2x2", {3, 2, 5, 7, 2, 2, 2, 1, 1}},
      {"even 4x4 stride 2", {2, 3, 9, 8, 3, 4, 4, 2, 2}},
      {"1x1 stride 1", {3, 5, 4, 6, 3, 1, 1, 1, 1}},
      {"1x1 stride 2,3", {2, 4, 7, 8, 2, 1, 1, 2, 3}},
      {"stride 4,5 > kernel 3x2", {2, 2, 9, 11, 2, 3, 2, 3, 3}},
      {"kernel larger than image", {2, 2, 3, 2, 2, 5, 4, 1, 2}},
      {"3x1 stride 1,3", {4, 1, 6, 10, 2, 3, 1, 1, 3}},
      {"1x3 stride 3,1", {1, 2, 8, 5, 3, 1, 3, 3, 1}},
      {"odd sizes 3x3 stride 2,1", {5, 3, 11, 9, 5, 3, 3, 2, 1}},
      {"batch 1, 8 channels", {1, 8, 12, 12, 6, 3, 3, 1, 1}},
      {"1-D m5 stride 3", {3, 2, 13, 1, 3, 5, 1, 3, 1}},
      {"1-D even m4 stride 2", {1, 3, 10, 1, 2, 4, 1, 2, 1}},
      {"1-D 1x1", {2, 3, 6, 1, 4, 1, 1, 1, 1}},
      {"1-D m3 stride 1", {4, 2, 9, 1, 3, 3, 1, 1, 1}},
      // Few channels or samples at strides 2-3 (the plans of docs/KERNELS.md made for them).
      {"1 channel 7x7 stride 3", {2, 1, 20, 23, 12, 7, 7, 3, 3}},
      {"2 channels even 6x6 stride 3", {3, 2, 19, 22, 10, 6, 6, 3, 3}},
      {"1-D 1 channel even m4 stride 3", {2, 1, 40, 1, 20, 4, 1, 3, 1}},
      {"1x1 stride 3, 32 channels", {2, 32, 18, 18, 24, 1, 1, 3, 3}},
      {"batch 1, 256 kernels 4x4 stride 2", {1, 32, 20, 20, 256, 4, 4, 2, 2}},
      // Padding, dilation and groups:  dy dx groups explicit top bottom left right
      {"valid 3x3 stride 2,1", {2, 3, 9, 8, 4, 3, 3, 2, 1, 1, 1, 1, true, 0, 0, 0, 0}},
      {"padding 1+2, 0+3 3x2 stride 1,3", {2, 2, 7, 9, 3, 3, 2, 1, 3, 1, 1, 1, true, 1, 2, 0, 3}},
      {"dilation 2,3 same", {2, 2, 11, 12, 3, 3, 3, 1, 1, 2, 3, 1}},
      {"dilation 2 valid stride 2", {1, 3, 13, 12, 2, 3, 3, 2, 2, 2, 2, 1, true, 0, 0, 0, 0}},
      {"groups 2", {2, 4, 8, 7, 6, 3, 3, 1, 1, 1, 1, 2}},
      {"depthwise stride 2 padding 1", {2, 5, 9, 8, 5, 3, 3, 2, 2, 1, 1, 5, true, 1, 1, 1, 1}},
      {"depthwise x2 dilation 2", {2, 3, 10, 9, 6, 3, 3, 1, 1, 2, 2, 3}},
      {"groups 3 1x1 padding 1", {2, 6, 4, 5, 3, 1, 1, 1, 1, 1, 1, 3, true, 1, 1, 1, 1}},
      {"1-D depthwise dilation 3 stride 2", {3, 4, 17, 1, 4, 3, 1, 2, 1, 3, 1, 4}},
      {"depthwise x2 wide rows 3x5", {2, 4, 9, 37, 8, 3, 5, 1, 1, 1, 1, 4, true, 1, 0, 2, 2}},
      {"1-D depthwise valid m5", {2, 3, 40, 1, 3, 5, 1, 1, 1, 1, 1, 3, true, 0, 0, 0, 0}},
      {"1-D groups 2 valid", {2, 6, 12, 1, 4, 4, 1, 1, 1, 1, 1, 2, true, 0, 0, 0, 0}},
      // Depthwise rows of a full chunk and more, stride 2 in either axis, the input error's
      // forward convolution ("valid" and "same") and its scatter (x2, padding beyond the span).
      {"depthwise 3x3 stride 2 wide", {2, 3, 29, 35, 3, 3, 3, 2, 2, 1, 1, 3, true, 1, 1, 1, 1}},
      {"depthwise 5x5 33 wide", {2, 3, 11, 33, 3, 5, 5, 1, 1, 1, 1, 3}},
      {"depthwise 3x3 valid 49 wide", {2, 2, 6, 49, 2, 3, 3, 1, 1, 1, 1, 2, true, 0, 0, 0, 0}},
      {"1-D depthwise m5 70 long", {2, 5, 70, 1, 5, 5, 1, 1, 1, 1, 1, 5}},
      {"depthwise x2 stride 2 odd", {2, 3, 13, 21, 6, 3, 3, 2, 2, 1, 1, 3}},
      {"depthwise padding past span", {1, 2, 5, 6, 2, 3, 3, 1, 1, 1, 1, 2, true, 3, 0, 3, 1}},
      {"depthwise stride 2,1 valid", {2, 3, 9, 20, 3, 3, 3, 2, 1, 1, 1, 3, true, 0, 0, 0, 0}},
      {"depthwise stride 1,2 pad 0+2", {2, 3, 10, 17, 3, 3, 3, 1, 2, 1, 1, 3, true, 1, 1, 0, 2}},
      // "same" written out: the fast kernels take these (a 1-D one turned into rows).
      {"explicit same 3x3", {2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, true, 1, 1, 1, 1}},
      {"1-D explicit same m4 stride 3", {3, 2, 13, 1, 3, 4, 1, 3, 1, 1, 1, 1, true, 1, 2, 0, 0}},
  };
  return table;
}

// Outputs start as NaN: the kernels must overwrite every element, never accumulate into it.
template <typename T>
Results<T> nan_results(const ConvGeometry& g) {
  return testing::nan_results<T>(g.output_size(), g.input_size(), g.weights_size(), g.kernels);
}

template <typename T>
void expect_close(const std::vector<T>& actual, const std::vector<T>& expected, T tolerance,
                  const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    ASSERT_NEAR(actual[i], expected[i], tolerance * (T(1) + std::abs(expected[i])))
        << what << " element " << i;
  }
}

template <typename T>
void check_fast_against_reference(const Row& row, T tolerance) {
  SCOPED_TRACE(row.name);
  const ConvGeometry& g = row.g;
  std::mt19937 engine(static_cast<unsigned>(g.input_size() * 31 + g.weights_size()));
  const auto input = random_values<T>(g.input_size(), engine);
  const auto weights = random_values<T>(g.weights_size(), engine);
  const auto bias = random_values<T>(g.kernels, engine);
  const auto error = random_values<T>(g.output_size(), engine);

  Results<T> reference = nan_results<T>(g);
  conv2d_forward_reference(g, input.data(), weights.data(), bias.data(), reference.output.data());
  conv2d_backward_reference(g, input.data(), weights.data(), error.data(),
                            reference.input_error.data(), reference.weight_gradient.data(),
                            reference.bias_gradient.data());

  const ThreadCountGuard guard;
  for (const std::size_t threads : {1u, 2u}) {
    set_num_threads(threads);
    SCOPED_TRACE(std::to_string(threads) + " thread(s)");
    // One workspace for every call, as the layer keeps it: reuse must not leak old contents.
    std::vector<T> workspace;
    Results<T> runs[2] = {nan_results<T>(g), nan_results<T>(g)};
    for (Results<T>& fast : runs) {
      conv2d_forward(g, input.data(), weights.data(), bias.data(), fast.output.data(), workspace);
      conv2d_backward(g, input.data(), weights.data(), error.data(), fast.input_error.data(),
                      fast.weight_gradient.data(), fast.bias_gradient.data(), workspace);
    }
    expect_close(runs[0].output, reference.output, tolerance, "output");
    expect_close(runs[0].input_error, reference.input_error, tolerance, "input error");
    expect_close(runs[0].weight_gradient, reference.weight_gradient, tolerance, "weight gradient");
    expect_close(runs[0].bias_gradient, reference.bias_gradient, tolerance, "bias gradient");
    // Same thread count, same bits.
    EXPECT_EQ(runs[0].output, runs[1].output);
    EXPECT_EQ(runs[0].input_error, runs[1].input_error);
    EXPECT_EQ(runs[0].weight_gradient, runs[1].weight_gradient);
    EXPECT_EQ(runs[0].bias_gradient, runs[1].bias_gradient);
  }
}

TEST(ConvKernels, FastMatchesReferenceFloat) {
  for (const Row& row : rows()) check_fast_against_reference<float>(row, 2e-5f);
}

TEST(ConvKernels, FastMatchesReferenceDouble) {
  for (const Row& row : rows()) check_fast_against_reference<double>(row, 1e-13);
}

TEST(ConvKernels, DepthwiseLoopsOfEveryInstructionSetMatchTheReference) {
  // The depthwise rows once more with the loops of each level the CPU has ("none": the
  // baseline copy), float only (double always runs the baseline).
  struct Restore {
    std::string saved = simd_level();
    ~Restore() { set_simd_level(saved); }
  } restore;
  for (const char* level : {"none", "avx2", "avx512"}) {
    if (std::string(level) == "avx512" && runtime::best_simd_level() < runtime::SimdLevel::kAvx512)
      continue;
    if (std::string(level) == "avx2" && runtime::best_simd_level() < runtime::SimdLevel::kAvx2)
      continue;
    set_simd_level(level);
    SCOPED_TRACE(level);
    for (const Row& row : rows()) {
      if (is_depthwise(row.g)) check_fast_against_reference<float>(row, 2e-5f);
    }
  }
}

TEST(ConvKernels, DepthwiseAndGroupedGiveTheSameBitsOnOneAndTwoThreads) {
  // The depthwise loops (a channel's gradients are one thread's) and the grouped SIMD path (each
  // group an ordinary fast convolution) do not depend on the thread count.
  const ThreadCountGuard guard;
  std::size_t checked = 0;
  for (const Row& row : rows()) {
    const ConvGeometry& g = row.g;
    if (g.groups == 1 || !(is_depthwise(g) || conv2d_fast_covers(group_view(g)))) continue;
    SCOPED_TRACE(row.name);
    ++checked;
    std::mt19937 engine(7);
    const auto input = random_values<float>(g.input_size(), engine);
    const auto weights = random_values<float>(g.weights_size(), engine);
    const auto bias = random_values<float>(g.kernels, engine);
    const auto error = random_values<float>(g.output_size(), engine);
    Results<float> runs[2] = {nan_results<float>(g), nan_results<float>(g)};
    for (const std::size_t threads : {1u, 2u}) {
      set_num_threads(threads);
      std::vector<float> workspace;
      Results<float>& r = runs[threads - 1];
      conv2d_forward(g, input.data(), weights.data(), bias.data(), r.output.data(), workspace);
      conv2d_backward(g, input.data(), weights.data(), error.data(), r.input_error.data(),
                      r.weight_gradient.data(), r.bias_gradient.data(), workspace);
    }
    EXPECT_EQ(runs[0].output, runs[1].output);
    EXPECT_EQ(runs[0].input_error, runs[1].input_error);
    EXPECT_EQ(runs[0].weight_gradient, runs[1].weight_gradient);
    EXPECT_EQ(runs[0].bias_gradient, runs[1].bias_gradient);
  }
  EXPECT_GE(checked, 5u);  // the depthwise rows and "groups 2"
}

TEST(ConvKernels, SamePaddingWrittenOutGivesTheSameBits) {
  // Explicit padding equal to "same" is today's convolution: the same kernels, the same bits.
  for (ConvGeometry same :
       {ConvGeometry{2, 3, 7, 6, 16, 3, 3, 1, 1}, ConvGeometry{3, 8, 10, 9, 8, 4, 2, 2, 1},
        ConvGeometry{3, 2, 13, 1, 3, 4, 1, 3, 1}}) {
    ConvGeometry written = same;
    written.explicit_padding = true;
    written.pad_top = same.pad_y_before(), written.pad_bottom = same.pad_y_after();
    written.pad_left = same.pad_x_before(), written.pad_right = same.pad_x_after();
    std::mt19937 engine(5);
    const auto input = random_values<float>(same.input_size(), engine);
    const auto weights = random_values<float>(same.weights_size(), engine);
    const auto bias = random_values<float>(same.kernels, engine);
    const auto error = random_values<float>(same.output_size(), engine);
    Results<float> results[2] = {nan_results<float>(same), nan_results<float>(same)};
    for (std::size_t i = 0; i < 2; ++i) {
      const ConvGeometry& g = i == 0 ? same : written;
      std::vector<float> workspace;
      Results<float>& r = results[i];
      conv2d_forward(g, input.data(), weights.data(), bias.data(), r.output.data(), workspace);
      conv2d_backward(g, input.data(), weights.data(), error.data(), r.input_error.data(),
                      r.weight_gradient.data(), r.bias_gradient.data(), workspace);
    }
    EXPECT_EQ(results[0].output, results[1].output);
    EXPECT_EQ(results[0].input_error, results[1].input_error);
    EXPECT_EQ(results[0].weight_gradient, results[1].weight_gradient);
    EXPECT_EQ(results[0].bias_gradient, results[1].bias_gradient);
  }
}

TEST(ConvKernels, OneAndTwoThreadsAgreeOnTheWeightGradient) {
  // Batch 7 over 2 threads splits the weight gradient into two partial sums (4 + 3 samples);
  // the result must still be the whole sum, whatever the split.
  const ConvGeometry g{7, 3, 8, 6, 4, 3, 3, 1, 2};
  std::mt19937 engine(11);
  const auto input = random_values<double>(g.input_size(), engine);
  const auto weights = random_values<double>(g.weights_size(), engine);
  const auto error = random_values<double>(g.output_size(), engine);
  const ThreadCountGuard guard;
  std::vector<double> gradients[2];
  for (const std::size_t threads : {1u, 2u}) {
    set_num_threads(threads);
    std::vector<double> workspace, input_error(g.input_size()), bias_gradient(g.kernels);
    gradients[threads - 1].assign(g.weights_size(), 0.0);
    conv2d_backward(g, input.data(), weights.data(), error.data(), input_error.data(),
                    gradients[threads - 1].data(), bias_gradient.data(), workspace);
  }
  for (std::size_t i = 0; i < g.weights_size(); ++i) {
    EXPECT_NEAR(gradients[0][i], gradients[1][i], 1e-12) << "element " << i;
  }
}

}  // namespace
}  // namespace cnnkit::kernels
