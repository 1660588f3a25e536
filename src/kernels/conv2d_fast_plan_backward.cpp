// Planning the fast convolution's backward pass (FastBackwardPlan in conv2d_fast_plan.hpp): the
// input error's and the weight gradient's vectorisation, blocks, groups of samples and workspace.
// Compiled for the baseline x86-64 CPU, like the dispatch in conv2d_fast.cpp.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <numeric>

#include "kernels/conv2d_fast.hpp"
#include "kernels/conv2d_fast_plan_rules.hpp"

namespace cnnkit::kernels {

namespace {

using namespace plan_rules;

// Taps per pixel (C*m*n) below which the weight gradient prefers dwp at this share of dw's
// lane use (plan_backward says why).
constexpr std::size_t kFewTaps = 32;
constexpr double kFewTapsLaneShare = 0.85;
constexpr std::size_t kFewStridedTaps = 8;

// The weight gradient's column groups (FastBackwardPlan::dw_columns) and whether its blocks
// can read the input directly: dw_kernel_rows must divide the channels (a block's rows share one
// u; fewer rows than the registers hold are taken, within limits, to make it so), and one group
// of columns must read all n kernel columns (its blocks start the partial sums).
// (6 channels in blocks of 5 rows, for example, keep the padded copy: blocks of 3 rows that
// read the input directly gain nothing there, as their edge columns, one pixel wide each, cannot
// go in column pairs.)
void plan_direct_weight_gradient(FastBackwardPlan& p) {
  const ConvGeometry& g = p.g;
  p.dw_columns[0] = {0, g.out_x(), 0, g.kernel_x, 0};  // unless direct: one group of all
  p.dw_column_groups = 1;
  DwColumns groups[kFastMaxColumnGroups];
  std::size_t count = 0;
  for (std::size_t j = 0; j < g.out_x(); ++j) {
    const KernelRows reading = valid_kernel_columns(g, j);
    if (count > 0 && groups[count - 1].v_begin == reading.begin &&
        groups[count - 1].v_end == reading.end) {
      groups[count - 1].end = j + 1;
      continue;
    }
    if (count == kFastMaxColumnGroups) return;
    groups[count++] = {j, j + 1, reading.begin, reading.end, 0};
  }
  const auto full = std::find_if(groups, groups + count, [&](const DwColumns& group) {
    return group.v_begin == 0 && group.v_end == g.kernel_x;
  });
  if (full == groups + count) return;
  // Rows that do not divide C: the largest divisor of C below them, if it keeps three quarters
  // of the rows (2 of 3 rows of 4 columns read directly cost more than the copy), or half of them
  // for a kernel one column wide (there the copy costs the most per FLOP: 2 K m / (sy sx) FLOPs per
  // float copied, and the one column group reads the pixels in the copy's order, so the sums are
  // the same bits either way).
  std::size_t rows = p.dw_kernel_rows;
  while (g.channels % rows != 0) --rows;
  const bool enough =
      g.kernel_x == 1 ? 2 * rows >= p.dw_kernel_rows : 4 * rows >= 3 * p.dw_kernel_rows;
  if (!enough) return;
  p.dw_kernel_rows = rows;
  std::rotate(groups, full, full + 1);  // the full group first, the others in their order
  std::size_t before = 0;
  for (std::size_t k = 0; k < count; ++k) {
    groups[k].before = before;
    before += groups[k].end - groups[k].begin;
    p.dw_columns[k] = groups[k];
  }
  p.dw_column_groups = count;
  p.dw_direct = true;
}

}  // namespace

FastBackwardPlan plan_backward(const ConvGeometry& geometry, runtime::SimdLevel level,
                               std::size_t threads) {
  FastBackwardPlan p = start_plan<FastBackwardPlan>(geometry, level, threads);
  const ConvGeometry g = p.g;
  // The threads take the weight gradient's groups (at most one per sample) and then the input
  // error's samples: with fewer samples than threads, one thread's input error runs beside
  // another's weight gradient.
  p.threads = std::clamp<std::size_t>(threads, 1, 2 * g.batch);
  const Isa isa = isa_of(level);
  const std::size_t out_y = g.out_y(), out_x = g.out_x(), pixels = out_y * out_x;
  // A phase row of the input error (every stride_x-th pixel of an input row) is a stride-1
  // correlation over E: pvec fills its lanes with the phase's pixels, ovec with the channels.
  // Strided, pvec stores every value twice (into dx_phase, then to its pixel): counted at 0.9
  // of its lane use. Either way a block of a single row counts 0.8 of it (pixel_vector_efficiency).
  const bool unit_stride = g.stride_y == 1 && g.stride_x == 1;
  const std::size_t phase_y = ceil_div(g.in_y, g.stride_y), phase_x = ceil_div(g.in_x, g.stride_x);
  const std::size_t pvec_outputs = pixel_block_outputs(g.channels);
  const std::size_t pvec_rows = pixel_block_rows(pvec_outputs, isa.registers);
  const double phase_lanes =
      pixel_vector_efficiency(phase_x, isa.lanes, pvec_rows) * (unit_stride ? 1.0 : 0.9);
  p.mode = phase_lanes > output_vector_efficiency(g.channels, isa.lanes) ? FastMode::kPixelVector
                                                                         : FastMode::kOutputVector;

  // Zeros around E so that every tap of every phase reads inside the padded copy (see
  // backward_taps): rows yy + du for yy in [0, phase rows), du = (py + pad - u) / sy.
  const auto reach = [](std::size_t in, std::size_t out, std::size_t kernel, std::size_t stride,
                        std::size_t pad, std::size_t& before, std::size_t& length) {
    std::ptrdiff_t low = 0, high = static_cast<std::ptrdiff_t>(out) - 1;
    const auto s = static_cast<std::ptrdiff_t>(stride);
    for (std::size_t phase = 0; phase < std::min(stride, in); ++phase) {
      const auto count = static_cast<std::ptrdiff_t>(ceil_div(in - phase, stride));
      for (std::size_t u = 0; u < kernel; ++u) {
        const std::ptrdiff_t n =
            static_cast<std::ptrdiff_t>(phase + pad) - static_cast<std::ptrdiff_t>(u);
        if (((n % s) + s) % s != 0) continue;
        low = std::min(low, n / s);
        high = std::max(high, count - 1 + n / s);
      }
    }
    before = static_cast<std::size_t>(-low);
    length = static_cast<std::size_t>(high - low + 1);
  };
  reach(g.in_y, out_y, g.kernel_y, g.stride_y, g.pad_y_before(), p.error_pad_y_before, p.error_y);
  reach(g.in_x, out_x, g.kernel_x, g.stride_x, g.pad_x_before(), p.error_pad_x_before, p.error_x);
  p.error_plane = p.error_y * p.error_x;
  const std::size_t taps = g.kernels * g.kernel_y * g.kernel_x;

  Layout layout;
  if (p.mode == FastMode::kOutputVector) {
    p.channel_registers = register_blocks(g.channels, isa.lanes);
    p.block_channels = p.channel_registers * isa.lanes;
    p.padded_channels = round_up(g.channels, p.block_channels);
    p.max_units = isa.max_acc / p.channel_registers;
    p.chunk = chunk_for(g.kernel_y * g.kernel_x * p.block_channels);
    // As the forward's planar output (max_units <= lanes for two registers); the pixels of a
    // block lie side by side in the planes only for a horizontal stride of 1.
    p.dx_planar = g.stride_x == 1 && p.channel_registers == 2 && p.chunk >= g.kernels &&
                  g.channels % p.block_channels == 0;
    p.dx_weights = layout.add(p.padded_channels * taps);
    p.dx_staging = layout.add(g.kernel_y * g.kernel_x * p.block_channels, p.threads);
    p.dx_position = layout.add(taps);
  } else {
    p.pvec_outputs = pvec_outputs;
    p.pvec_rows = pvec_rows;
    // Row taps (FastBackwardPlan::dx_row_taps): J, the kernel rows that reach a phase, is the
    // same for every kernel and column of the phase.
    std::size_t most_rows = 0;
    for (std::size_t py = 0; py < std::min(g.stride_y, g.in_y); ++py) {
      std::size_t rows = 0;
      for (std::size_t u = 0; u < g.kernel_y; ++u) rows += in_phase(g, py, u);
      most_rows = std::max(most_rows, rows);
    }
    p.dx_row_taps = most_rows >= 2 && most_rows <= kFastMaxRowTaps &&
                    pvec_outputs * (pvec_rows + most_rows) + 2 <= isa.registers;
    if (p.dx_row_taps) {
      const std::size_t most =
          std::min(kFastMaxRowTapRows, (isa.registers - 2) / pvec_outputs - most_rows);
      p.dx_row_tap_rows = ceil_div(phase_y, ceil_div(phase_y, most));
    }
    p.dx_weights = layout.add(g.channels * taps);
    // Strided: a phase's pixels lie stride_x apart in the planes; the blocks write them side by
    // side into dx_phase, which is then scattered to its pixels.
    p.dx_phase = layout.add(unit_stride ? 0 : g.channels * phase_y * phase_x, p.threads);
  }
  p.dx_taps = layout.add(2 * taps);
  if (p.mode == FastMode::kOutputVector) {
    std::size_t edge_tables = 0;
    for (std::size_t py = 0; py < std::min(g.stride_y, g.in_y); ++py) {
      const std::size_t rows = ceil_div(g.in_y - py, g.stride_y);
      const auto edge = [&](std::size_t yy) {
        for (std::size_t u = 0; u < g.kernel_y; ++u) {
          if (in_phase(g, py, u) && !reads_error(g, py, yy, u)) return true;
        }
        return false;
      };
      std::size_t& top = p.dx_edge_top[py];
      std::size_t& bottom = p.dx_edge_bottom[py];
      while (top < std::min(kFastMaxEdgeRows, rows) && edge(top)) ++top;
      while (bottom < std::min(kFastMaxEdgeRows, rows - top) && edge(rows - 1 - bottom)) ++bottom;
      edge_tables += (top + bottom) * g.stride_x;
    }
    p.dx_edge_taps = layout.add(edge_tables * 2 * taps);
  }
  p.error = layout.add(g.kernels * p.error_plane + 2 * isa.lanes, p.threads);
  p.error_border_only = p.error.size * sizeof(float) > 1024 * 1024;
  if (p.mode == FastMode::kOutputVector && !p.dx_planar) {
    p.dx_blocked = layout.add(p.padded_channels * g.in_y * g.in_x, p.threads);
  }

  if (unit_stride && g.kernel_y % 2 == 1 && g.kernel_x % 2 == 1) {
    // The input error as a forward convolution of E (FastBackwardPlan::dx_as_forward), planned
    // for a batch of at least the team, so that every thread has its regions and none splits
    // a sample.
    ConvGeometry swapped = g;
    swapped.channels = g.kernels;
    swapped.kernels = g.channels;
    swapped.batch = std::max(g.batch, p.threads);
    FastForwardPlan forward = plan_forward(swapped, level, p.threads);
    if (forward.pixel_pairs) {
      const std::size_t base = layout.add(forward.total).offset;
      for (FastRegion* r : {&forward.weights, &forward.bias, &forward.tap_table, &forward.edge_taps,
                            &forward.input, &forward.output}) {
        r->offset += base;
      }
      forward.g.batch = g.batch;
      p.dx_as_forward = true;
      p.dx_forward = forward;
      p.dx_flipped = layout.add(taps * g.channels);
      p.dx_zero_bias = layout.add(g.channels);
    }
  }

  if (p.mode == FastMode::kOutputVector && !p.dx_as_forward && g.batch < p.threads) {
    // Four pieces per thread and sample, of at least kernel_y rows each (a piece copies up to
    // kernel_y / stride_y rows of E more than its own share).
    const std::size_t most = std::max<std::size_t>(1, g.in_y / g.kernel_y);
    p.dx_row_pieces = std::min(most, ceil_div(4 * p.threads, g.batch));
  }

  p.dw_kernel_registers =
      2 * g.kernel_x <= isa.max_acc ? register_blocks(g.kernels, isa.lanes) : std::size_t{1};
  p.dw_block_kernels = p.dw_kernel_registers * isa.lanes;
  p.dw_padded_kernels = round_up(g.kernels, p.dw_block_kernels);
  p.dw_kernel_rows = std::max<std::size_t>(1, isa.max_acc / (p.dw_kernel_registers * g.kernel_x));
  // dwp when its lanes of output columns are better used than dw's lanes of kernels, or nearly
  // as well (kFewTapsLaneShare) with few taps per pixel: dw first writes E pixel-major (a
  // transpose of the pass's K x pixels floats) and reads that copy again, which below kFewTaps
  // taps per pixel (C*m*n: the FMAs each value of E takes part in) costs more than the lanes dwp
  // leaves empty; dwp reads E where it lies. At a horizontal stride above 1 (dwp's copy then
  // scatters each row into its phases) only for fewer than kFewStridedTaps taps: with more taps
  // dw's blocks beat dwp's fuller lanes of columns (docs/PERFORMANCE.md, the eighth round).
  const double column_lanes = utilisation(out_x, isa.lanes);
  const double kernel_lanes = utilisation(g.kernels, isa.lanes);
  const std::size_t pixel_taps = g.channels * g.kernel_y * g.kernel_x;
  const bool few_taps = pixel_taps < (g.stride_x == 1 ? kFewTaps : kFewStridedTaps) &&
                        column_lanes >= kFewTapsLaneShare * kernel_lanes;
  const bool more_lanes = g.stride_x == 1 && column_lanes > kernel_lanes;
  p.dw_mode = more_lanes || few_taps ? FastMode::kPixelVector : FastMode::kOutputVector;
  if (p.dw_mode == FastMode::kOutputVector) {
    plan_direct_weight_gradient(p);
    // Pairs of neighbouring columns for one register of kernels: a broadcast then feeds two FMAs
    // instead of one, bit for bit the same sums. With two registers a broadcast feeds two FMAs
    // already, and pairs gain nothing.
    p.dw_column_pairs = g.stride_x == 1 && p.dw_kernel_registers == 1;
  }
  if (p.dw_mode == FastMode::kPixelVector) {
    // Accumulators, one register of E per kernel and one of X must fit.
    const std::size_t most = std::clamp<std::size_t>((isa.registers - 2) / (g.kernel_x + 1), 1, 8);
    p.dwp_kernels = ceil_div(g.kernels, ceil_div(g.kernels, most));
  }
  // Groups of at least 128 output pixels where the batch allows: a group's blocks load and store
  // their sums once per pass, and every group adds a partial to the reduction (s27's four
  // samples of 16 pixels spent more on those than on their FMAs). The cut still depends on the
  // geometry alone for up to kFastGradientGroups threads.
  // (A power of two, so that they share evenly among 2 or 4 threads.)
  const std::size_t enough_pixels =
      std::bit_floor(std::max<std::size_t>(1, g.batch * pixels / 128));
  p.groups = std::min({g.batch, std::max(kFastGradientGroups, p.threads), enough_pixels});
  std::size_t pass_samples = 1;
  if (p.dw_direct) {
    // As many samples as keep a pass's E (pixel-major) within 256 KiB of L2 and a channel
    // block's planes within 32 KiB of L1. None fits when one sample's E is larger: then the
    // kernel blocks go outermost (FastBackwardPlan::dw_kernels_outer), each block's E within L2.
    const std::size_t error_bytes = pixels * p.dw_padded_kernels * sizeof(float);
    const std::size_t planes_bytes = p.dw_kernel_rows * g.in_y * g.in_x * sizeof(float);
    pass_samples = std::min(256 * 1024 / error_bytes, 32 * 1024 / planes_bytes);
    p.dw_kernels_outer = error_bytes > 256 * 1024 && p.dw_padded_kernels > p.dw_block_kernels;
  } else {
    // Enough pixels per pass that loading and storing the accumulators is noise.
    const std::size_t pass_pixels = p.dw_mode == FastMode::kPixelVector ? 4096 : 256;
    pass_samples = ceil_div(pass_pixels, pixels);
  }
  p.samples_per_pass = std::clamp<std::size_t>(pass_samples, 1, ceil_div(g.batch, p.groups));
  p.plain_y = g.in_y + g.kernel_y - 1;
  p.dw_phase_x = ceil_div(g.in_x + g.kernel_x - 1, g.stride_x);
  p.plain_x =
      p.dw_mode == FastMode::kPixelVector ? g.stride_x * p.dw_phase_x : g.in_x + g.kernel_x - 1;
  p.plain_plane = p.plain_y * p.plain_x;
  p.pixel_table = layout.add(p.samples_per_pass * pixels + 2 * pixels, p.threads);
  p.dw_input = layout.add(
      p.dw_direct ? 0 : p.samples_per_pass * g.channels * p.plain_plane + 2 * isa.lanes, p.threads);
  if (p.dw_mode == FastMode::kOutputVector) {
    p.dw_error_block = p.samples_per_pass * pixels * p.dw_block_kernels;
    p.dw_error = layout.add(p.samples_per_pass * pixels * p.dw_padded_kernels, p.threads);
    p.dw_partial = layout.add(g.channels * g.kernel_y * g.kernel_x * p.dw_padded_kernels, p.groups);
  } else {
    p.dw_error = layout.add(0, p.threads);
    p.dw_partial =
        layout.add(g.channels * g.kernel_y * g.kernels * g.kernel_x * isa.lanes, p.groups);
  }
  p.db_partial = layout.add(p.dw_padded_kernels, p.groups);
  p.total = layout.total;
  return p;
}

}  // namespace cnnkit::kernels
