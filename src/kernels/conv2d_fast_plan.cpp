// Planning for the fast convolution kernels: which geometries they cover, and the forward pass's
// vectorisation, register blocks, tables and workspace regions (FastForwardPlan in
// conv2d_fast_plan.hpp; the backward's: conv2d_fast_plan_backward.cpp; the rules both use:
// conv2d_fast_plan_rules.hpp). Compiled for the baseline x86-64 CPU, like the
// dispatch in conv2d_fast.cpp.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>

#include "kernels/conv2d_fast.hpp"
#include "kernels/conv2d_fast_plan_rules.hpp"

namespace cnnkit::kernels {

namespace {

using namespace plan_rules;

// Whether, along a row, only the first output pixel reads padding left of the image and only
// the last one right of it (FastForwardPlan::in_place): pixel j reads image columns
// j*sx - pad .. j*sx - pad + n - 1.
bool reads_inside_but_at_the_row_ends(const ConvGeometry& g) {
  const std::size_t pad = g.pad_x_before(), sx = g.stride_x, last = g.out_x() - 1;
  return g.out_x() >= 2 && sx >= pad && (last - 1) * sx + g.kernel_x <= pad + g.in_x;
}

// A forward sample of at least this many FLOPs is shared among the threads when there are
// fewer samples than threads (FastForwardPlan::split_kernels): tens of microseconds of work
// on one thread, against the few microseconds the team's meeting costs.
constexpr std::size_t kSplitSampleFlops = std::size_t{1} << 22;

// What both passes need: a CPU level, nothing empty, strides and kernel widths within the limits.
bool fits_fast_kernels(const ConvGeometry& g, runtime::SimdLevel level) {
  if (level == runtime::SimdLevel::kNone || level > runtime::best_simd_level()) return false;
  if (g.batch == 0 || g.channels == 0 || g.in_y == 0 || g.in_x == 0 || g.kernels == 0 ||
      g.kernel_y == 0 || g.kernel_x == 0 || g.stride_y == 0 || g.stride_x == 0) {
    return false;
  }
  return g.stride_y <= kFastMaxStride && g.stride_x <= kFastMaxStride &&
         g.kernel_x <= kFastMaxKernelX;
}

// Whether the workspace offsets of a (padded) sample stay within 32-bit tap offsets.
bool fits_offsets(const ConvGeometry& g, std::size_t padded) {
  const std::size_t out_pixels = g.out_y() * g.out_x();
  return fits_int32(g.channels * padded * 8) && fits_int32(g.kernels * padded * 8) &&
         fits_int32(out_pixels * 256 * (g.kernels + 16));
}

}  // namespace

bool conv2d_fast_forward_covers(const ConvGeometry& geometry, runtime::SimdLevel level) {
  if (conv2d_fast_covers(geometry, level)) return true;
  const ConvGeometry g = as_rows(geometry);
  if (!fits_fast_kernels(g, level)) return false;
  // Dilated taps and other padding are other offsets into the padded copy of the ovec blocks'
  // tap tables (plan_forward): one group, stride 1, some output.
  if (g.groups != 1 || g.stride_y != 1 || g.stride_x != 1 || g.out_y() == 0 || g.out_x() == 0) {
    return false;
  }
  const std::size_t padded = (g.in_y + g.pad_y_before() + g.pad_y_after()) *
                             (g.in_x + g.pad_x_before() + g.pad_x_after() + 16);
  return fits_offsets(g, padded);
}

bool conv2d_fast_covers(const ConvGeometry& geometry, runtime::SimdLevel level) {
  const ConvGeometry g = as_rows(geometry);
  if (!fits_fast_kernels(g, level)) return false;
  // The blocks, tap tables and padded copies know one group, taps one pixel apart and "same"
  // padding; other geometries go to the grouped paths (conv2d_grouped.cpp) or im2col + GEMM.
  if (!g.is_dense_same()) return false;
  return fits_offsets(g, (g.in_y + g.kernel_y) * (g.in_x + g.kernel_x + 16));
}

FastForwardPlan plan_forward(const ConvGeometry& geometry, runtime::SimdLevel level,
                             std::size_t threads) {
  FastForwardPlan p = start_plan<FastForwardPlan>(geometry, level, threads);
  const ConvGeometry g = p.g;
  const Isa isa = isa_of(level);
  const std::size_t out_x = g.out_x(), pixels = g.out_y() * out_x;
  // Pixel pairs (half the channels per register, two pixels each) want rows of even length.
  const double ovec = output_vector_efficiency(g.kernels, isa.lanes);
  const double pairs = out_x % 2 == 0 ? output_vector_efficiency(g.kernels, isa.lanes / 2) : 0.0;
  const std::size_t pvec_outputs = pixel_block_outputs(g.kernels);
  const std::size_t pvec_rows = pixel_block_rows(pvec_outputs, isa.registers);
  // Dilated taps and other padding (conv2d_fast_forward_covers) run in ovec only, without
  // skipped columns or reading in place: those rules count taps one pixel apart over "same"
  // padding (the edge rows count dilated rows: valid_kernel_rows).
  const bool dense_same = g.is_dense_same();
  p.mode =
      dense_same && pixel_vector_efficiency(out_x, isa.lanes, pvec_rows) > std::max(ovec, pairs)
          ? FastMode::kPixelVector
          : FastMode::kOutputVector;
  p.pixel_pairs = p.mode == FastMode::kOutputVector && pairs > ovec;
  p.padded_y = g.pad_y_before() + g.in_y + g.pad_y_after();
  p.phase_x = ceil_div(g.pad_x_before() + g.in_x + g.pad_x_after(), g.stride_x);
  p.padded_row = g.stride_x * p.phase_x;
  p.padded_plane = p.padded_y * p.padded_row;
  p.taps = g.channels * g.kernel_y * g.kernel_x;
  Layout layout;
  if (p.mode == FastMode::kOutputVector) {
    const std::size_t channel_lanes = p.pixel_pairs ? isa.lanes / 2 : isa.lanes;
    const std::size_t copies = p.pixel_pairs ? 2 : 1;  // of each weight and bias
    p.channel_registers = register_blocks(g.kernels, channel_lanes);
    p.block_channels = p.channel_registers * channel_lanes;
    p.padded_kernels = round_up(g.kernels, p.block_channels);
    p.max_units = isa.max_acc / p.channel_registers;
    p.chunk = chunk_for(g.kernel_y * g.kernel_x * p.block_channels * copies);
    // A planar block stores one register tile: at most `lanes` pixels (always so for two
    // registers: 14 of 16, 6 of 8) or lanes / 2 pixel pairs (the widest block of a row counts).
    const std::size_t units = out_x / copies;
    const std::size_t widest =
        ceil_div(units, std::max<std::size_t>(1, ceil_div(units, p.max_units)));
    p.planar_output = p.channel_registers == 2 && p.chunk >= g.channels &&
                      g.kernels % p.block_channels == 0 && widest <= isa.lanes / copies;
    // Edge columns for rows of one block whose chunk of weights stays in L1, or that read a
    // stride-2 input in place (which needs them: no padded copy to read the edges from). For
    // weights streamed from L2 alone they cost more than the FMAs they save: stored in tap order,
    // those weights would be read in two runs.
    const std::size_t chunk_bytes = std::min(p.chunk, g.channels) * g.kernel_y * g.kernel_x *
                                    p.block_channels * copies * sizeof(float);
    // The top and bottom output rows whose kernel rows partly read padding (edge_taps).
    const std::size_t out_y = g.out_y();
    // (Rows whose every kernel row reads padding keep the full table: no empty tables.)
    const auto has_taps = [&g](std::size_t i) {
      const KernelRows rows = valid_kernel_rows(g, i);
      return rows.begin < rows.end;
    };
    while (p.edge_top < std::min(kFastMaxEdgeRows, out_y) &&
           valid_kernel_rows(g, p.edge_top).begin > 0 && has_taps(p.edge_top)) {
      ++p.edge_top;
    }
    while (p.edge_bottom < std::min(kFastMaxEdgeRows, out_y - p.edge_top) &&
           valid_kernel_rows(g, out_y - 1 - p.edge_bottom).end < g.kernel_y &&
           has_taps(out_y - 1 - p.edge_bottom)) {
      ++p.edge_bottom;
    }
    // In place only where the edge rows leave out every kernel row that reads padding: the
    // rows between them read none (their valid kernel rows only grow towards the middle).
    const std::size_t middle = p.edge_top, middle_end = out_y - p.edge_bottom;
    const bool edge_rows_cover_padding =
        middle >= middle_end || (valid_kernel_rows(g, middle).begin == 0 &&
                                 valid_kernel_rows(g, middle_end - 1).end == g.kernel_y);
    const bool one_block = dense_same && ceil_div(units, p.max_units) == 1 && units >= 2;
    p.in_place = one_block && p.planar_output && !p.pixel_pairs && g.stride_x == 2 &&
                 reads_inside_but_at_the_row_ends(g) && edge_rows_cover_padding;
    if (one_block && (chunk_bytes <= 32 * 1024 || p.in_place)) {
      // Unit 0 holds pixels [0, copies), the last one [out_x - copies, out_x); pixel j's kernel
      // column v reads padded column j*sx + v, image column j*sx + v - pad.
      const std::size_t pad = g.pad_x_before(), sx = g.stride_x;
      while (p.skip_columns_first < g.kernel_x && (copies - 1) * sx + p.skip_columns_first < pad) {
        ++p.skip_columns_first;
      }
      while (p.skip_columns_first + p.skip_columns_last < g.kernel_x &&
             (out_x - copies) * sx + (g.kernel_x - 1 - p.skip_columns_last) >= pad + g.in_x) {
        ++p.skip_columns_last;
      }
    }
    p.weights = layout.add(p.padded_kernels * p.taps * copies);
    p.bias = layout.add(p.padded_kernels * copies);
  } else {
    p.pvec_outputs = pvec_outputs;
    p.pvec_rows = pvec_rows;
    p.weights = layout.add(g.kernels * p.taps);
  }
  // Fewer samples than threads: the threads share each sample's kernel groups, when each gets
  // at least one and the sample is worth the team's meeting (kSplitSampleFlops).
  const std::size_t groups = kernel_groups(p);
  if (g.batch < threads && groups >= 2 && g.forward_flops() / g.batch >= kSplitSampleFlops) {
    p.split_kernels = true;
    // Items a whole multiple of the threads: 3 groups on 2 threads, for example, in 6 items.
    p.threads = threads;
    const std::size_t items = g.batch * groups;
    p.row_pieces = std::min(g.out_y(), p.threads / std::gcd(items, p.threads));
  }
  p.tap_table = layout.add(2 * p.taps);
  if (p.mode == FastMode::kOutputVector) {
    p.edge_taps = layout.add((p.edge_top + p.edge_bottom) * 2 * p.taps);
  }
  p.input = layout.add(p.in_place ? 0 : g.channels * p.padded_plane + 2 * isa.lanes, p.threads);
  if (p.mode == FastMode::kOutputVector && !p.planar_output) {
    p.output = layout.add(p.padded_kernels * pixels, p.threads);
  }
  p.total = layout.total;
  return p;
}

}  // namespace cnnkit::kernels
