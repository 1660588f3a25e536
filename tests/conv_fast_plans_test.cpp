// The plans of the fast convolution kernels (kernels/conv2d_fast_plan.hpp): which rows and columns
// of a kernel read the image rather than its padding, and which vectorisation, register blocks and
// weight-gradient layout each reference geometry gets. What the kernels compute with them is
// checked against the reference in conv_fast_kernels_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "kernels/conv2d_fast.hpp"

namespace cnnkit::kernels {
namespace {

using runtime::best_simd_level;
using runtime::SimdLevel;

using Range = std::pair<std::size_t, std::size_t>;
Range range(KernelRows r) {
  return {r.begin, r.end};
}

TEST(ConvFastPlans, CoverOneGroupWithoutDilationAndSamePaddingOnly) {
  if (best_simd_level() == SimdLevel::kNone) GTEST_SKIP() << "no SIMD level on this CPU";
  //                    N  C  Y   X  K  m  n sy sx dy dx groups explicit top bottom left right
  const ConvGeometry same{2, 4, 9, 8, 6, 3, 3, 1, 1};
  EXPECT_TRUE(conv2d_fast_covers(same));
  EXPECT_TRUE(conv2d_fast_covers({2, 4, 9, 8, 6, 3, 3, 1, 1, 1, 1, 1, true, 1, 1, 1, 1}));
  // A 1-D "same" written out, turned into rows: its padding turns with it.
  EXPECT_TRUE(conv2d_fast_covers({2, 4, 9, 1, 6, 4, 1, 1, 1, 1, 1, 1, true, 1, 2, 0, 0}));
  EXPECT_FALSE(conv2d_fast_covers({2, 4, 9, 8, 6, 3, 3, 1, 1, 1, 1, 2}));
  EXPECT_FALSE(conv2d_fast_covers({2, 4, 9, 8, 6, 3, 3, 1, 1, 2, 1, 1}));
  EXPECT_FALSE(conv2d_fast_covers({2, 4, 9, 8, 6, 3, 3, 1, 1, 1, 1, 1, true, 0, 0, 0, 0}));
  EXPECT_FALSE(conv2d_fast_covers({2, 4, 9, 8, 6, 3, 3, 1, 1, 1, 1, 1, true, 1, 1, 2, 0}));
}

TEST(ConvFastPlans, ValidKernelRowsLeaveOutThePadding) {
  // W3 b: 5 kernel rows, padding 2 above and below 14 input rows.
  const ConvGeometry b{64, 6, 14, 14, 16, 5, 5, 1, 1};
  EXPECT_EQ(range(valid_kernel_rows(b, 0)), Range(2, 5));
  EXPECT_EQ(range(valid_kernel_rows(b, 1)), Range(1, 5));
  EXPECT_EQ(range(valid_kernel_rows(b, 2)), Range(0, 5));
  EXPECT_EQ(range(valid_kernel_rows(b, 12)), Range(0, 4));
  EXPECT_EQ(range(valid_kernel_rows(b, 13)), Range(0, 3));
  // W3 d, stride 2: output row i reads input rows 2i-1 .. 2i+1 (and columns likewise).
  const ConvGeometry d{32, 128, 16, 16, 128, 3, 3, 2, 2};
  EXPECT_EQ(range(valid_kernel_rows(d, 0)), Range(1, 3));
  EXPECT_EQ(range(valid_kernel_rows(d, 7)), Range(0, 3));
  EXPECT_EQ(range(valid_kernel_columns(d, 0)), Range(1, 3));
  EXPECT_EQ(range(valid_kernel_columns(d, 7)), Range(0, 3));
  // Two input rows under a 5-row kernel: padding on both sides of each output row.
  const ConvGeometry flat{1, 1, 2, 9, 1, 5, 5, 1, 1};
  EXPECT_EQ(range(valid_kernel_rows(flat, 0)), Range(2, 4));
  EXPECT_EQ(range(valid_kernel_rows(flat, 1)), Range(1, 3));
  EXPECT_EQ(range(valid_kernel_columns(flat, 8)), Range(0, 3));
}

// valid_output_rows is valid_kernel_rows the other way round: the output rows i whose range
// holds u, for every u (hand-checked for W3 d, brute force for many small geometries).
TEST(ConvFastPlans, ValidOutputRowsAreTheRowsWhoseKernelRowReadsTheImage) {
  // W3 d: output row 0 reads input rows -1 .. 1, so kernel row 0 reads padding there only.
  const ConvGeometry d{32, 128, 16, 16, 128, 3, 3, 2, 2};
  EXPECT_EQ(range(valid_output_rows(d, 0)), Range(1, 8));
  EXPECT_EQ(range(valid_output_rows(d, 1)), Range(0, 8));
  EXPECT_EQ(range(valid_output_rows(d, 2)), Range(0, 8));
  // W3 b: 2 rows of padding above and below.
  const ConvGeometry b{64, 6, 14, 14, 16, 5, 5, 1, 1};
  EXPECT_EQ(range(valid_output_rows(b, 0)), Range(2, 14));
  EXPECT_EQ(range(valid_output_rows(b, 4)), Range(0, 12));
  // One input row under a 5-row kernel: only the centre row reads it.
  const ConvGeometry flat{1, 1, 1, 9, 1, 5, 5, 1, 1};
  EXPECT_EQ(range(valid_output_rows(flat, 1)), Range(0, 0));
  EXPECT_EQ(range(valid_output_rows(flat, 2)), Range(0, 1));
  for (std::size_t in_y = 1; in_y <= 9; ++in_y) {
    for (std::size_t kernel_y = 1; kernel_y <= 7; ++kernel_y) {
      for (std::size_t stride = 1; stride <= 4; ++stride) {
        const ConvGeometry g{1, 1, in_y, 4, 1, kernel_y, 3, stride, 1};
        for (std::size_t u = 0; u < kernel_y; ++u) {
          std::size_t begin = g.out_y(), end = 0;
          for (std::size_t i = 0; i < g.out_y(); ++i) {
            const KernelRows r = valid_kernel_rows(g, i);
            if (u >= r.begin && u < r.end) begin = std::min(begin, i), end = i + 1;
          }
          if (end == 0) begin = 0;
          EXPECT_EQ(range(valid_output_rows(g, u)), Range(begin, end))
              << "Y " << in_y << " m " << kernel_y << " sy " << stride << " u " << u;
        }
      }
    }
  }
}

// Direct weight gradients: the column groups of W3 d and W3 c (the full group first) and of a
// geometry whose rows do not divide into blocks of rows (a padded copy instead).
TEST(ConvFastPlans, DirectWeightGradientGroupsColumnsByTheKernelColumnsTheyRead) {
  if (best_simd_level() != SimdLevel::kAvx512) GTEST_SKIP() << "plans below are for 16 lanes";
  const auto groups = [](const FastBackwardPlan& p) {
    std::vector<std::vector<std::size_t>> out;
    for (std::size_t k = 0; k < p.dw_column_groups; ++k) {
      const DwColumns& c = p.dw_columns[k];
      out.push_back({c.begin, c.end, c.v_begin, c.v_end, c.before});
    }
    return out;
  };
  using Groups = std::vector<std::vector<std::size_t>>;
  // W3 d: output column 0 reads input columns -1 .. 1; the rest read 3 real columns.
  const FastBackwardPlan d =
      plan_backward({32, 128, 16, 16, 128, 3, 3, 2, 2}, SimdLevel::kAvx512, 2);
  EXPECT_TRUE(d.dw_direct);
  EXPECT_EQ(d.dw_kernel_rows, 4u);
  EXPECT_EQ(groups(d), (Groups{{1, 8, 0, 3, 0}, {0, 1, 1, 3, 7}}));
  // W3 c: padding on both sides.
  const FastBackwardPlan c = plan_backward({32, 64, 32, 32, 64, 3, 3, 1, 1}, SimdLevel::kAvx512, 2);
  EXPECT_TRUE(c.dw_direct);
  EXPECT_EQ(groups(c), (Groups{{1, 31, 0, 3, 0}, {0, 1, 1, 3, 30}, {31, 32, 0, 2, 31}}));
  // W3 b: 6 channels, blocks of 5 rows (one register of 16 kernels x 5 columns each).
  const FastBackwardPlan b = plan_backward({64, 6, 14, 14, 16, 5, 5, 1, 1}, SimdLevel::kAvx512, 2);
  EXPECT_EQ(b.dw_kernel_rows, 5u);
  EXPECT_FALSE(b.dw_direct);
  EXPECT_EQ(groups(b), (Groups{{0, 14, 0, 5, 0}}));
  // Rows that do not divide C: the largest divisor that keeps three quarters of them (W4's
  // 16 -> 16 convolutions: 8 of 9), or half of them for one kernel column (W4's 1x1 skip: 8 of
  // 14); not 3 of W3 b's 5 rows, nor 2 of s01's 3.
  const FastBackwardPlan w4 =
      plan_backward({128, 16, 28, 28, 16, 3, 3, 1, 1}, SimdLevel::kAvx512, 2);
  EXPECT_TRUE(w4.dw_direct);
  EXPECT_EQ(w4.dw_kernel_rows, 8u);
  const FastBackwardPlan skip =
      plan_backward({128, 16, 28, 28, 32, 1, 1, 2, 2}, SimdLevel::kAvx512, 2);
  EXPECT_TRUE(skip.dw_direct);
  EXPECT_EQ(skip.dw_kernel_rows, 8u);
  const FastBackwardPlan s01 =
      plan_backward({1, 32, 124, 124, 256, 4, 4, 2, 2}, SimdLevel::kAvx512, 2);
  EXPECT_FALSE(s01.dw_direct);
  EXPECT_EQ(s01.dw_kernel_rows, 3u);
  // 17 channels (prime) of a 1x1 kernel: 1 row of 14, a padded copy.
  const FastBackwardPlan prime =
      plan_backward({2, 17, 9, 9, 32, 1, 1, 1, 1}, SimdLevel::kAvx512, 2);
  EXPECT_FALSE(prime.dw_direct);
  EXPECT_EQ(prime.dw_kernel_rows, 14u);
  // Column pairs for one register of kernels at stride 1 (W3 b), not for two (W3 c) or stride 2.
  EXPECT_TRUE(b.dw_column_pairs);
  EXPECT_FALSE(c.dw_column_pairs);
  EXPECT_FALSE(d.dw_column_pairs);
  EXPECT_FALSE(plan_backward({2, 9, 7, 11, 12, 3, 3, 1, 2}, SimdLevel::kAvx512, 1).dw_column_pairs);
}

// The kernel columns a block leaves out for its first or last unit (pixel or pair),
// hand-counted: pixel j's column v reads image column j*sx + v - pad.
TEST(ConvFastPlans, EdgeUnitsSkipTheKernelColumnsThatReadOnlyPadding) {
  if (best_simd_level() != SimdLevel::kAvx512) GTEST_SKIP() << "plans below are for 16 lanes";
  const auto skips = [](const ConvGeometry& g) {
    const FastForwardPlan p = plan_forward(g, SimdLevel::kAvx512, 1);
    return Range(p.skip_columns_first, p.skip_columns_last);
  };
  // 7x7, pad 3, in pairs: pixel 1 reads columns -3 + v + 1 < 0 for v <= 1; pixel 8 of 10 reads
  // 8 + v - 3 >= 10 for v >= 5.
  EXPECT_TRUE(plan_forward({2, 3, 6, 10, 16, 7, 7, 1, 1}, SimdLevel::kAvx512, 1).pixel_pairs);
  EXPECT_EQ(skips({2, 3, 6, 10, 16, 7, 7, 1, 1}), Range(2, 2));
  // Single pixels, 5x5: pixel 0 reads v - 2 < 0 for v <= 1, pixel 11 reads 11 + v - 2 >= 12
  // for v >= 3.
  EXPECT_EQ(skips({2, 8, 5, 12, 32, 5, 5, 1, 1}), Range(2, 2));
  // Stride 2, 11 columns, 6 outputs: pixel 5 reads 10 + v - 2 >= 11 for v >= 3.
  EXPECT_EQ(skips({2, 8, 9, 11, 32, 5, 5, 2, 2}), Range(2, 2));
  // 4 wide, pad 1 before and 2 after: v = 0 on the left, v >= 2 for pixel 8 of 9.
  EXPECT_EQ(skips({2, 4, 6, 9, 32, 4, 4, 1, 1}), Range(1, 2));
  // 3 columns under a 7-wide kernel: only v = 3 reads the image for both end pixels.
  EXPECT_EQ(skips({2, 3, 3, 3, 32, 7, 7, 1, 1}), Range(3, 3));
  // Not planar (24 kernels padded to 32, in the channel-blocked scratch): pixel 0 reads only
  // padding with column 0, pixel 6 of 7 with column 2.
  EXPECT_FALSE(plan_forward({2, 8, 7, 7, 24, 3, 3, 1, 1}, SimdLevel::kAvx512, 1).planar_output);
  EXPECT_EQ(skips({2, 8, 7, 7, 24, 3, 3, 1, 1}), Range(1, 1));
  // Taps in two chunks: their weights stream from L2 (as W3 d's below).
  EXPECT_EQ(skips({1, 70, 6, 6, 32, 5, 5, 1, 1}), Range(0, 0));
  // W3 d: pixel 0 reads only padding with column 0; a group's weights (147 KiB) stream from L2,
  // but the input is read in place, which needs the skip (ReadsAStride2InputInPlace).
  EXPECT_EQ(skips({32, 128, 16, 16, 128, 3, 3, 2, 2}), Range(1, 0));
  EXPECT_EQ(skips({2, 16, 16, 16, 32, 3, 3, 2, 2}), Range(1, 0));  // 18 KiB of weights
  // Weights from L2 and not in place (stride 1): nothing skipped.
  EXPECT_EQ(skips({1, 128, 8, 8, 32, 3, 3, 1, 1}), Range(0, 0));
  // Pixel vectors, or rows of more than one block: nothing skipped.
  EXPECT_EQ(skips({64, 1, 28, 28, 6, 5, 5, 1, 1}), Range(0, 0));
  EXPECT_EQ(skips({2, 3, 5, 32, 16, 3, 3, 1, 1}), Range(0, 0));
}

// Where the forward reads a stride-2 input where it lies, with no polyphase copy: planar
// single pixels, one block per row, only the end pixels reading padding left and right (pixel j
// reads columns 2j - pad .. 2j - pad + n - 1), and edge tables for every row reading padding.
TEST(ConvFastPlans, ReadsAStride2InputInPlace) {
  if (best_simd_level() != SimdLevel::kAvx512) GTEST_SKIP() << "plans below are for 16 lanes";
  const auto plan = [](const ConvGeometry& g) { return plan_forward(g, SimdLevel::kAvx512, 1); };
  const FastForwardPlan d = plan({32, 128, 16, 16, 128, 3, 3, 2, 2});  // W3 d
  EXPECT_TRUE(d.in_place);
  EXPECT_EQ(d.edge_top, 1u);     // row 0 reads row -1
  EXPECT_EQ(d.edge_bottom, 0u);  // row 7 reads rows 13-15
  EXPECT_EQ(d.input.size, 16u);  // no padded copy (the region's minimum)
  // 5x5 on 11 columns: pixel 1 reads from column 0, pixel 4 up to 10; rows 0 and 4 of 5 read
  // padding above and below.
  const FastForwardPlan five = plan({2, 8, 9, 11, 32, 5, 5, 2, 2});
  EXPECT_TRUE(five.in_place);
  EXPECT_EQ(Range(five.skip_columns_first, five.skip_columns_last), Range(2, 2));
  EXPECT_EQ(Range(five.edge_top, five.edge_bottom), Range(1, 1));
  EXPECT_TRUE(plan({2, 40, 10, 9, 32, 7, 3, 3, 2}).in_place);  // vertical stride 3
  // Not: stride 1; 7x7 (pixel 1 reads column -1; on 11 columns pixel 4 also reads column 11);
  // two blocks per row (20 pixels); pixel pairs;
  // three registers of kernels (not planar); 19 kernel rows (rows 0-4 read padding above, and
  // there are 4 edge tables).
  EXPECT_FALSE(plan({2, 8, 5, 12, 32, 5, 5, 1, 1}).in_place);
  EXPECT_FALSE(plan({2, 8, 9, 16, 32, 7, 7, 2, 2}).in_place);
  EXPECT_FALSE(plan({2, 8, 9, 11, 32, 7, 7, 2, 2}).in_place);
  EXPECT_FALSE(plan({2, 8, 16, 40, 32, 3, 3, 2, 2}).in_place);
  const FastForwardPlan pairs = plan({3, 4, 11, 12, 40, 3, 3, 2, 2});
  EXPECT_TRUE(pairs.pixel_pairs);
  EXPECT_FALSE(pairs.in_place);
  EXPECT_FALSE(plan({3, 32, 10, 9, 48, 3, 3, 2, 2}).in_place);
  const FastForwardPlan tall = plan({1, 4, 24, 16, 32, 19, 3, 2, 2});
  EXPECT_TRUE(tall.planar_output);
  EXPECT_EQ(tall.edge_top, 4u);
  EXPECT_FALSE(tall.in_place);
}

TEST(ConvFastPlans, PlansPickTheVectorisationThatFillsTheLanes) {
  if (best_simd_level() != SimdLevel::kAvx512) GTEST_SKIP() << "plans below are for 16 lanes";
  // W3 a: 6 kernels would fill 6 of 16 lanes; 28-pixel rows fill 28 of 32.
  EXPECT_EQ(plan_forward({64, 1, 28, 28, 6, 5, 5, 1, 1}, SimdLevel::kAvx512, 2).mode,
            FastMode::kPixelVector);
  // W3 b: 16 kernels fill one register, but a block of one register is held to 0.8 of its lanes
  // (a broadcast per FMA) and 14-pixel rows fill 14 of 16; in pixel pairs they fill two
  // registers of 8 kernels x 2 pixels.
  const FastForwardPlan b = plan_forward({64, 6, 14, 14, 16, 5, 5, 1, 1}, SimdLevel::kAvx512, 2);
  EXPECT_EQ(b.mode, FastMode::kOutputVector);
  EXPECT_TRUE(b.pixel_pairs);
  EXPECT_EQ(b.channel_registers, 2u);
  EXPECT_TRUE(b.planar_output);  // 7 pairs per row: one tile of 8 pairs x 8 channels
  // Its rows 0-1 and 12-13 skip the kernel rows that read zero padding.
  EXPECT_EQ(b.edge_top, 2u);
  EXPECT_EQ(b.edge_bottom, 2u);
  // And its first pair (pixels 0, 1) reads only padding with kernel column 0 (image columns -2,
  // -1), its last one (pixels 12, 13) with column 4 (14, 15).
  EXPECT_EQ(b.skip_columns_first, 1u);
  EXPECT_EQ(b.skip_columns_last, 1u);
  // Odd rows cannot be cut into pairs: 15-pixel rows (15 of 16 lanes) take pixel vectors.
  EXPECT_EQ(plan_forward({64, 6, 15, 15, 16, 5, 5, 1, 1}, SimdLevel::kAvx512, 2).mode,
            FastMode::kPixelVector);
  // 48 kernels (three registers) against 5-pixel rows: output vectors.
  EXPECT_EQ(plan_forward({3, 32, 10, 9, 48, 3, 3, 2, 2}, SimdLevel::kAvx512, 2).mode,
            FastMode::kOutputVector);
  // W3 c: 64 kernels in registers of 16, two registers per block; every tap in one chunk, so
  // the blocks store straight into the output planes.
  const FastForwardPlan c = plan_forward({32, 64, 32, 32, 64, 3, 3, 1, 1}, SimdLevel::kAvx512, 2);
  EXPECT_EQ(c.mode, FastMode::kOutputVector);
  EXPECT_FALSE(c.pixel_pairs);
  EXPECT_EQ(c.channel_registers, 2u);
  EXPECT_TRUE(c.planar_output);
  EXPECT_EQ(c.output.size, 0u);  // no channel-blocked scratch
  EXPECT_EQ(c.edge_top, 1u);
  EXPECT_EQ(c.edge_bottom, 1u);
  // Its 32-pixel rows take three blocks: no block holds both ends of a row, none skips columns.
  EXPECT_EQ(c.skip_columns_first + c.skip_columns_last, 0u);
  // W3 d (stride 2): only output row 0 reads the padding (above); row 7 reads input rows 13-15.
  const FastForwardPlan df =
      plan_forward({32, 128, 16, 16, 128, 3, 3, 2, 2}, SimdLevel::kAvx512, 2);
  EXPECT_EQ(df.edge_top, 1u);
  EXPECT_EQ(df.edge_bottom, 0u);
  // Not planar: taps in two chunks (sums carried in the scratch), 24 kernels padded to a block
  // of 32, or 40 kernels in blocks of one register.
  EXPECT_FALSE(plan_forward({1, 70, 6, 6, 32, 5, 5, 1, 1}, SimdLevel::kAvx512, 1).planar_output);
  const FastForwardPlan padded = plan_forward({1, 8, 7, 7, 24, 3, 3, 1, 1}, SimdLevel::kAvx512, 1);
  EXPECT_EQ(padded.mode, FastMode::kOutputVector);
  EXPECT_EQ(padded.channel_registers, 2u);
  EXPECT_FALSE(padded.planar_output);
  EXPECT_FALSE(plan_forward({1, 8, 6, 6, 40, 3, 3, 1, 1}, SimdLevel::kAvx512, 1).planar_output);
  // W3 d backward: 128 channels fill the lanes where its 8-pixel phase rows would fill half, so
  // the input error takes output vectors; its horizontal stride rules out the planar ones (a
  // block's pixels are two apart in the planes).
  const FastBackwardPlan d =
      plan_backward({32, 128, 16, 16, 128, 3, 3, 2, 2}, SimdLevel::kAvx512, 2);
  EXPECT_EQ(d.mode, FastMode::kOutputVector);
  EXPECT_FALSE(d.dx_planar);
  // Its input error: the even input rows (phase row 0) take kernel row 1 only, from E row yy,
  // never the padding; the odd ones take kernel rows 0 and 2, and for the last of them (input
  // row 15, yy = 7) kernel row 0 would read E row 8, past E.
  EXPECT_EQ(d.dx_edge_top[0] + d.dx_edge_bottom[0], 0u);
  EXPECT_EQ(d.dx_edge_top[1], 0u);
  EXPECT_EQ(d.dx_edge_bottom[1], 1u);
  // W3 c backward: the input error goes straight into its planes; its first and last rows
  // skip a kernel row.
  const FastBackwardPlan cb =
      plan_backward({32, 64, 32, 32, 64, 3, 3, 1, 1}, SimdLevel::kAvx512, 2);
  EXPECT_EQ(cb.mode, FastMode::kOutputVector);
  EXPECT_TRUE(cb.dx_planar);
  EXPECT_EQ(cb.dx_blocked.size, 0u);
  EXPECT_EQ(cb.dx_edge_top[0], 1u);
  EXPECT_EQ(cb.dx_edge_bottom[0], 1u);
}

TEST(ConvFastPlans, PixelVectorBlocksOfOneRowCountAsABroadcastPerFma) {
  if (best_simd_level() < SimdLevel::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  // AVX2's 16 registers hold pixel-vector blocks of 8 outputs one row high (8 accumulators, a
  // row of inputs, a broadcast): a broadcast per FMA, counted at 0.8 as an output-vector block
  // of one register is.
  // 24 channels, phase rows of 8 pixels at stride 3: pixel vectors would fill every lane (0.9
  // strided, 0.72 for one row); 24 channels are three registers of 8, an odd count, so blocks
  // of one register (0.8).
  const FastBackwardPlan dx = plan_backward({2, 24, 20, 22, 16, 6, 6, 3, 3}, SimdLevel::kAvx2, 2);
  EXPECT_EQ(dx.mode, FastMode::kOutputVector);
  EXPECT_EQ(dx.channel_registers, 1u);
  // 3 channels take blocks of 3 outputs and 3 rows: still pixel vectors (125 of 128 lanes).
  const FastBackwardPlan three =
      plan_backward({1, 3, 125, 125, 96, 2, 2, 1, 1}, SimdLevel::kAvx2, 2);
  EXPECT_EQ(three.mode, FastMode::kPixelVector);
  EXPECT_EQ(three.pvec_rows, 3u);
  // Forward: 8 kernels over odd rows of 15 pixels (no pairs): 0.94 * 0.8 against 0.8.
  EXPECT_EQ(plan_forward({2, 2, 29, 29, 8, 5, 5, 2, 2}, SimdLevel::kAvx2, 2).mode,
            FastMode::kOutputVector);
  // 4 kernels: blocks of 3 rows, pixel vectors.
  const FastForwardPlan four = plan_forward({2, 2, 29, 29, 4, 5, 5, 2, 2}, SimdLevel::kAvx2, 2);
  EXPECT_EQ(four.mode, FastMode::kPixelVector);
  EXPECT_EQ(four.pvec_rows, 3u);
  // With AVX-512's 32 registers the same 24 channels' blocks are 3 rows high: the lanes decide
  // (phase rows of 8 fill half of 16 lanes; 24 channels two registers of 16, 3/4 of them).
  EXPECT_EQ(plan_backward({2, 24, 20, 22, 16, 6, 6, 3, 3}, SimdLevel::kAvx512, 2).mode,
            FastMode::kOutputVector);
}

TEST(ConvFastPlans, WeightGradientOfFewTapsPerPixelReadsEWhereItLies) {
  if (best_simd_level() < SimdLevel::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  for (const SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    SCOPED_TRACE(level == SimdLevel::kAvx2 ? "AVX2" : "AVX-512");
    // 2 channels of 3x3: 18 taps per pixel, below 32, so E is not copied pixel-major for dw:
    // dwp, as 15 columns fill 15 of 16 lanes (at least 0.85 of 48 kernels' full lanes).
    const FastBackwardPlan few = plan_backward({2, 2, 10, 15, 48, 3, 3, 1, 1}, level, 2);
    EXPECT_EQ(few.dw_mode, FastMode::kPixelVector);
    EXPECT_GE(few.dwp_kernels, 1u);
    // 4 channels: 36 taps, dw keeps the lanes of kernels.
    EXPECT_EQ(plan_backward({2, 4, 10, 15, 48, 3, 3, 1, 1}, level, 2).dw_mode,
              FastMode::kOutputVector);
    // 13 columns fill 13 of 16 lanes, below 0.85: dw.
    EXPECT_EQ(plan_backward({2, 2, 10, 13, 48, 3, 3, 1, 1}, level, 2).dw_mode,
              FastMode::kOutputVector);
    // Horizontal stride 2 (dwp's copy scatters each row into 2 phases): 18 taps are not below
    // 8, so dw, even for 4 kernels over 15 columns (4 of 16 lanes against 15); 5 taps (1x5) of
    // 12 kernels over 16 columns take dwp, and s07's 1-D 4 taps (1 channel, kernel 4, stride 3)
    // over 38 columns where those fill 0.85 of the lanes: AVX2's 38 of 40, not AVX-512's 38 of
    // 48.
    EXPECT_EQ(plan_backward({2, 2, 20, 30, 48, 3, 3, 2, 2}, level, 2).dw_mode,
              FastMode::kOutputVector);
    EXPECT_EQ(plan_backward({2, 2, 20, 30, 4, 3, 3, 2, 2}, level, 2).dw_mode,
              FastMode::kOutputVector);
    EXPECT_EQ(plan_backward({2, 1, 9, 31, 12, 1, 5, 2, 2}, level, 2).dw_mode,
              FastMode::kPixelVector);
    EXPECT_EQ(plan_backward({64, 1, 112, 1, 256, 4, 1, 3, 1}, level, 2).dw_mode,
              level == SimdLevel::kAvx2 ? FastMode::kPixelVector : FastMode::kOutputVector);
    // W4's 1x1 skip at stride 2: 16 taps, dw.
    EXPECT_EQ(plan_backward({128, 16, 28, 28, 32, 1, 1, 2, 2}, level, 2).dw_mode,
              FastMode::kOutputVector);
    // s14 (3 channels of 2x2, 125 columns) and W4's stem (1 channel of 3x3, 28 columns).
    EXPECT_EQ(plan_backward({1, 3, 125, 125, 96, 2, 2, 1, 1}, level, 2).dw_mode,
              FastMode::kPixelVector);
    EXPECT_EQ(plan_backward({128, 1, 28, 28, 16, 3, 3, 1, 1}, level, 2).dw_mode,
              FastMode::kPixelVector);
  }
}

TEST(ConvFastPlans, StridedInputErrorOfFewChannelsTakesPixelVectorsPhaseByPhase) {
  if (best_simd_level() != SimdLevel::kAvx512) GTEST_SKIP() << "plans below are for 16 lanes";
  // One channel, stride 3: phase rows of 13 pixels fill 13 of 16 lanes, one channel 1 of 16.
  const FastBackwardPlan one =
      plan_backward({2, 1, 39, 39, 192, 7, 7, 3, 3}, SimdLevel::kAvx512, 2);
  EXPECT_EQ(one.mode, FastMode::kPixelVector);
  EXPECT_GE(one.dx_phase.size, 13u * 13u);  // a phase's (C, rows, columns) on its way
  // 1-D (as rows): 112 samples at stride 3, phase rows of 38 (38 of 48 lanes).
  EXPECT_EQ(plan_backward({64, 1, 112, 1, 256, 4, 1, 3, 1}, SimdLevel::kAvx512, 2).mode,
            FastMode::kPixelVector);
  // 32 channels fill two registers: output vectors, whatever the stride.
  EXPECT_EQ(plan_backward({4, 32, 39, 39, 16, 7, 7, 3, 3}, SimdLevel::kAvx512, 2).mode,
            FastMode::kOutputVector);
}

TEST(ConvFastPlans, PixelVectorInputErrorLoadsTheRowsOfAKernelColumnOnce) {
  if (best_simd_level() < SimdLevel::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  for (const SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    SCOPED_TRACE(level == SimdLevel::kAvx2 ? "AVX2" : "AVX-512");
    // s32: one channel, 7 kernel rows at stride 3 reach the phases 3, 2 and 2 at a time.
    const FastBackwardPlan s32 = plan_backward({2, 1, 39, 39, 192, 7, 7, 3, 3}, level, 2);
    EXPECT_EQ(s32.mode, FastMode::kPixelVector);
    EXPECT_TRUE(s32.dx_row_taps);
    // 8 rows at stride 2: 4 per phase, the most a block takes; 10 rows (5 per phase) are more.
    EXPECT_TRUE(plan_backward({2, 1, 29, 17, 10, 8, 3, 2, 1}, level, 2).dx_row_taps);
    const FastBackwardPlan five = plan_backward({2, 1, 40, 12, 20, 10, 3, 2, 1}, level, 2);
    EXPECT_EQ(five.mode, FastMode::kPixelVector);
    EXPECT_FALSE(five.dx_row_taps);
    // At stride 1 the one phase takes all kernel rows: 4 of a 4x4 kernel.
    EXPECT_TRUE(plan_backward({2, 1, 21, 19, 6, 4, 4, 1, 1}, level, 2).dx_row_taps);
    // 2 rows at stride 3: one row per phase, nothing to share.
    const FastBackwardPlan one_row = plan_backward({2, 5, 13, 16, 7, 2, 2, 3, 3}, level, 2);
    EXPECT_EQ(one_row.mode, FastMode::kPixelVector);
    EXPECT_FALSE(one_row.dx_row_taps);
  }
  // Registers, one to spare: 2 channels, 4 rows per phase: AVX-512's blocks of 8 rows hold
  // 2 * (8 + 4) + 2 = 26 registers; AVX2's of 5 rows would need 20 of 16.
  const ConvGeometry two{2, 2, 29, 17, 10, 8, 3, 2, 1};
  EXPECT_EQ(plan_backward(two, SimdLevel::kAvx2, 2).mode, FastMode::kPixelVector);
  EXPECT_FALSE(plan_backward(two, SimdLevel::kAvx2, 2).dx_row_taps);
  EXPECT_TRUE(plan_backward(two, SimdLevel::kAvx512, 2).dx_row_taps);
  // s22: 3 channels, 2 rows per phase; AVX2's blocks of 3 rows need 3 * (3 + 2) + 2 = 17 (with
  // all 16 GCC spills), AVX-512's of 7 rows 29 of 32, and take 3 * (rows + 2) + 2 <= 32: 8.
  const ConvGeometry s22{8, 3, 22, 22, 64, 5, 5, 3, 3};
  EXPECT_EQ(plan_backward(s22, SimdLevel::kAvx2, 2).mode, FastMode::kPixelVector);
  EXPECT_FALSE(plan_backward(s22, SimdLevel::kAvx2, 2).dx_row_taps);
  const FastBackwardPlan wide = plan_backward(s22, SimdLevel::kAvx512, 2);
  EXPECT_TRUE(wide.dx_row_taps);
  EXPECT_EQ(wide.dx_row_tap_rows, 8u);
  // s32 at AVX-512: 16 rows would fit (1 * (16 + 3) + 2), its phases of 13 rows take one band.
  EXPECT_EQ(plan_backward({2, 1, 39, 39, 192, 7, 7, 3, 3}, SimdLevel::kAvx512, 2).dx_row_tap_rows,
            13u);
}

TEST(ConvFastPlans, FewerSamplesThanThreadsShareTheirWork) {
  if (best_simd_level() != SimdLevel::kAvx512) GTEST_SKIP() << "plans below are for 16 lanes";
  // One sample of 256 kernels on two threads: each thread takes 4 of its 8 groups of 32.
  const FastForwardPlan one =
      plan_forward({1, 32, 124, 124, 256, 4, 4, 2, 2}, SimdLevel::kAvx512, 2);
  EXPECT_TRUE(one.split_kernels);
  EXPECT_EQ(one.threads, 2u);
  EXPECT_EQ(kernel_groups(one), 8u);
  EXPECT_EQ(one.row_pieces, 1u);
  // s14: 3 groups of 32 kernels, each cut into 2 pieces of rows (6 items, 3 per thread); on 4
  // threads into 4 pieces (12 items).
  const FastForwardPlan s14 = plan_forward({1, 3, 125, 125, 96, 2, 2, 1, 1}, SimdLevel::kAvx512, 2);
  EXPECT_TRUE(s14.split_kernels);
  EXPECT_EQ(kernel_groups(s14), 3u);
  EXPECT_EQ(s14.row_pieces, 2u);
  EXPECT_EQ(plan_forward({1, 3, 125, 125, 96, 2, 2, 1, 1}, SimdLevel::kAvx512, 4).row_pieces, 4u);
  // The kernel tests' split geometries: each cut into pieces of rows, of each kind of block.
  for (const ConvGeometry& g :
       {ConvGeometry{1, 3, 60, 61, 96, 2, 2, 1, 1}, ConvGeometry{1, 8, 40, 17, 48, 3, 3, 1, 1},
        ConvGeometry{1, 8, 120, 20, 24, 3, 3, 1, 1}, ConvGeometry{1, 4, 100, 30, 20, 3, 3, 1, 1}}) {
    const FastForwardPlan p = plan_forward(g, SimdLevel::kAvx512, 2);
    EXPECT_TRUE(p.split_kernels);
    EXPECT_EQ(p.row_pieces, 2u);
  }
  EXPECT_TRUE(plan_forward({1, 3, 60, 61, 96, 2, 2, 1, 1}, SimdLevel::kAvx512, 2).planar_output);
  EXPECT_FALSE(plan_forward({1, 8, 40, 17, 48, 3, 3, 1, 1}, SimdLevel::kAvx512, 2).planar_output);
  EXPECT_TRUE(plan_forward({1, 8, 120, 20, 24, 3, 3, 1, 1}, SimdLevel::kAvx512, 2).pixel_pairs);
  EXPECT_EQ(plan_forward({1, 4, 100, 30, 20, 3, 3, 1, 1}, SimdLevel::kAvx512, 2).mode,
            FastMode::kPixelVector);
  // As many samples as threads: a sample per thread, as before.
  const FastForwardPlan two =
      plan_forward({2, 32, 124, 124, 256, 4, 4, 2, 2}, SimdLevel::kAvx512, 2);
  EXPECT_FALSE(two.split_kernels);
  EXPECT_EQ(two.threads, 2u);
  // Too little work per sample (0.2 MFLOP) or a single group of kernels: one thread.
  EXPECT_FALSE(plan_forward({1, 1, 94, 94, 4, 5, 5, 3, 3}, SimdLevel::kAvx512, 2).split_kernels);
  EXPECT_EQ(plan_forward({1, 1, 94, 94, 4, 5, 5, 3, 3}, SimdLevel::kAvx512, 2).threads, 1u);
  // Backward: the weight gradient's one group beside the input error's one sample.
  EXPECT_EQ(plan_backward({1, 32, 124, 124, 256, 4, 4, 2, 2}, SimdLevel::kAvx512, 2).threads, 2u);
  EXPECT_EQ(plan_backward({1, 32, 124, 124, 256, 4, 4, 2, 2}, SimdLevel::kAvx512, 2).groups, 1u);
  // Groups of at least 128 output pixels where the batch allows, a power of two, the same on 1
  // to 4 threads: s27's 4 samples of 16 pixels in one group, 6 samples of 64 in two (not three),
  // W3 d's 32 of 64 in 4.
  for (const std::size_t threads : {1, 2, 4}) {
    EXPECT_EQ(plan_backward({4, 64, 1, 32, 256, 1, 6, 1, 2}, SimdLevel::kAvx512, threads).groups,
              1u);
    EXPECT_EQ(plan_backward({6, 5, 8, 8, 20, 3, 3, 1, 1}, SimdLevel::kAvx512, threads).groups, 2u);
    EXPECT_EQ(plan_backward({32, 128, 16, 16, 128, 3, 3, 2, 2}, SimdLevel::kAvx512, threads).groups,
              4u);
  }
}

// One sample on two threads: its input error in pieces of rows (dx_row_pieces), 4 per thread, at
// least kernel_y rows each, shared like samples beside the weight gradient's one group; whole
// samples when there are as many as threads, on one thread, or in pixel vectors.
TEST(ConvFastPlans, FewerSamplesThanThreadsCutTheInputErrorIntoPiecesOfRows) {
  if (best_simd_level() < SimdLevel::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  for (const SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    SCOPED_TRACE(level == SimdLevel::kAvx2 ? "AVX2" : "AVX-512");
    const ConvGeometry s01{1, 32, 124, 124, 256, 4, 4, 2, 2};
    const FastBackwardPlan one = plan_backward(s01, level, 2);
    EXPECT_EQ(one.mode, FastMode::kOutputVector);
    EXPECT_EQ(one.dx_row_pieces, 8u);
    EXPECT_EQ(plan_backward(s01, level, 1).dx_row_pieces, 1u);
    EXPECT_EQ(plan_backward({2, 32, 124, 124, 256, 4, 4, 2, 2}, level, 2).dx_row_pieces, 1u);
    // 13 rows under a 3-row kernel: 4 pieces, not 8.
    EXPECT_EQ(plan_backward({1, 20, 13, 11, 12, 3, 4, 2, 1}, level, 2).dx_row_pieces, 4u);
    // Pixel vectors (one channel): whole samples.
    EXPECT_EQ(plan_backward({1, 1, 39, 39, 192, 7, 7, 3, 3}, level, 2).dx_row_pieces, 1u);
  }
}

// The weight gradient read directly takes the kernel blocks outermost when one sample's E is
// more than a pass's 256 KiB: s01's 62 x 62 pixels of 256 kernels (AVX2: one kernel row per
// block, a divisor of 32 channels); 16 x 17 pixels of 250 kernels (padded to 256) too, 16 x 16
// of 256 (exactly 256 KiB) not.
TEST(ConvFastPlans, WeightGradientTakesKernelBlocksOutermostWhenASamplesEIsLarge) {
  if (best_simd_level() < SimdLevel::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  const FastBackwardPlan s01 =
      plan_backward({1, 32, 124, 124, 256, 4, 4, 2, 2}, SimdLevel::kAvx2, 2);
  EXPECT_TRUE(s01.dw_direct);
  EXPECT_TRUE(s01.dw_kernels_outer);
  EXPECT_EQ(s01.dw_error_block, 62u * 62u * 16u);
  for (const SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
    const FastBackwardPlan padded = plan_backward({1, 6, 32, 34, 250, 3, 3, 2, 2}, level, 2);
    EXPECT_TRUE(padded.dw_direct);
    EXPECT_TRUE(padded.dw_kernels_outer);
    const FastBackwardPlan exact = plan_backward({1, 6, 32, 32, 256, 3, 3, 2, 2}, level, 2);
    EXPECT_TRUE(exact.dw_direct);
    EXPECT_FALSE(exact.dw_kernels_outer);
  }
}

// The input error runs as a forward pass of E where that pass would hold pixel pairs: W4's
// 16 -> 16 convolutions; not W3 b (its forward pass of E is pixel-vector), W3 c (two registers of
// channels, no pairs), an even kernel (its "same" padding is not symmetric) or a stride.
TEST(ConvFastPlans, InputErrorRunsAsAForwardPassWherePixelPairsWouldHoldIt) {
  if (best_simd_level() != SimdLevel::kAvx512) GTEST_SKIP() << "plans below are for 16 lanes";
  const FastBackwardPlan w4 =
      plan_backward({128, 16, 28, 28, 16, 3, 3, 1, 1}, SimdLevel::kAvx512, 2);
  EXPECT_TRUE(w4.dx_as_forward);
  EXPECT_TRUE(w4.dx_forward.pixel_pairs);
  EXPECT_EQ(w4.dx_forward.g.channels, 16u);
  EXPECT_EQ(w4.dx_forward.g.kernels, 16u);
  EXPECT_EQ(w4.dx_forward.threads, 2u);
  EXPECT_FALSE(w4.dx_forward.split_kernels);
  EXPECT_FALSE(plan_backward({64, 6, 14, 14, 16, 5, 5, 1, 1}, SimdLevel::kAvx512, 2).dx_as_forward);
  EXPECT_FALSE(
      plan_backward({32, 64, 32, 32, 64, 3, 3, 1, 1}, SimdLevel::kAvx512, 2).dx_as_forward);
  EXPECT_FALSE(plan_backward({8, 16, 28, 28, 16, 4, 4, 1, 1}, SimdLevel::kAvx512, 2).dx_as_forward);
  EXPECT_FALSE(plan_backward({8, 16, 28, 28, 16, 3, 3, 2, 2}, SimdLevel::kAvx512, 2).dx_as_forward);
  // E's padded copy cleared by its border only beyond 1 MiB (s14's 6 MB; the kernel tests' case).
  EXPECT_TRUE(
      plan_backward({1, 3, 125, 125, 96, 2, 2, 1, 1}, SimdLevel::kAvx512, 2).error_border_only);
  EXPECT_TRUE(
      plan_backward({1, 2, 120, 130, 20, 3, 3, 1, 1}, SimdLevel::kAvx512, 2).error_border_only);
  EXPECT_FALSE(w4.error_border_only);
  // One sample on two threads: the regions of both (the forward plan's batch is the team).
  const FastBackwardPlan one =
      plan_backward({1, 16, 28, 28, 16, 3, 3, 1, 1}, SimdLevel::kAvx512, 2);
  EXPECT_TRUE(one.dx_as_forward);
  EXPECT_EQ(one.dx_forward.threads, 2u);
  EXPECT_EQ(one.dx_forward.g.batch, 1u);
}

}  // namespace
}  // namespace cnnkit::kernels
