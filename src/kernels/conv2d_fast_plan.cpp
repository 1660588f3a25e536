// Planning for the fast convolution kernels: which vectorisation, register blocks, tables and
// workspace regions a geometry gets (FastForwardPlan, FastBackwardPlan in conv2d_fast_plan.hpp),
// and which geometries the kernels cover. Compiled for the baseline x86-64 CPU, like the
// dispatch in conv2d_fast.cpp.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>

#include "kernels/conv2d_fast.hpp"

namespace cnnkit::kernels {

namespace {

struct Isa {
  std::size_t lanes;      // floats per register
  std::size_t registers;  // vector registers
  std::size_t max_acc;    // accumulators a register block may hold (Simd::kMaxAccumulators)
};

Isa isa_of(runtime::SimdLevel level) {
  return level == runtime::SimdLevel::kAvx512 ? Isa{16, 32, 28} : Isa{8, 16, 12};
}

std::size_t round_up(std::size_t n, std::size_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}
std::size_t ceil_div(std::size_t n, std::size_t d) {
  return (n + d - 1) / d;
}

// Regions of a workspace, each a multiple of 64 bytes, per-thread ones side by side.
struct Layout {
  std::size_t total = 0;
  FastRegion add(std::size_t per_thread, std::size_t threads = 1) {
    const FastRegion region{total, round_up(std::max<std::size_t>(per_thread, 1), 16)};
    total += region.size * threads;
    return region;
  }
};

// Share of the lanes a register of `lanes` outputs keeps busy over `count` outputs.
double utilisation(std::size_t count, std::size_t lanes) {
  return static_cast<double>(count) / static_cast<double>(round_up(count, lanes));
}

// Two registers per block when that adds no padding (the load of each broadcast then feeds
// two FMAs), else one.
std::size_t register_blocks(std::size_t count, std::size_t lanes) {
  return count > lanes && ceil_div(count, lanes) % 2 == 0 ? 2 : 1;
}

// What an output-vector block over `count` outputs gets of the FMA pipes, for choosing how to
// vectorise (conv2d_fast_plan.hpp): its lane use, and with a single register per block (no second
// register for a broadcast to feed) 0.8 of that. Such a block issues one broadcast load per FMA,
// which a core with two 512-bit FMA pipes cannot keep up with: its loads, not its FMAs, set the
// pace (the factor is measured: docs/PERFORMANCE.md).
double output_vector_efficiency(std::size_t count, std::size_t lanes) {
  return utilisation(count, lanes) * (register_blocks(count, lanes) == 1 ? 0.8 : 1.0);
}

// Rows of a pixel-vector block for `outputs` outputs per block: accumulators, one register per
// row of inputs and one broadcast must fit the register file.
std::size_t pixel_block_rows(std::size_t outputs, std::size_t registers) {
  return std::clamp<std::size_t>((registers - 1) / (outputs + 1), 1, 8);
}

// Channels per chunk of taps whose weights (floats_per_channel each) fit in 192 KiB of the L2
// cache. (Not L1: a chunk sized for L1 reloads the sums more often, which costs more than
// reading the weights from L2, a stream the hardware prefetcher follows well.)
std::size_t chunk_for(std::size_t floats_per_channel) {
  return std::max<std::size_t>(1, 192 * 1024 / (floats_per_channel * sizeof(float)));
}

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

// Samples' worth of offsets must fit the int32 tap and pixel tables.
bool fits_int32(std::size_t n) {
  return n < static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max() / 2);
}

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

// What every plan starts from: the geometry (1-D along y turned into rows), the lanes, and one
// thread per sample at most.
template <typename Plan>
Plan start_plan(const ConvGeometry& geometry, runtime::SimdLevel level, std::size_t threads) {
  Plan p;
  p.g = as_rows(geometry);
  p.lanes = isa_of(level).lanes;
  p.threads = std::clamp<std::size_t>(threads, 1, p.g.batch);
  return p;
}

}  // namespace

bool conv2d_fast_covers(const ConvGeometry& geometry, runtime::SimdLevel level) {
  if (level == runtime::SimdLevel::kNone || level > runtime::best_simd_level()) return false;
  const ConvGeometry g = as_rows(geometry);
  if (g.batch == 0 || g.channels == 0 || g.in_y == 0 || g.in_x == 0 || g.kernels == 0 ||
      g.kernel_y == 0 || g.kernel_x == 0 || g.stride_y == 0 || g.stride_x == 0) {
    return false;
  }
  if (g.stride_y > kFastMaxStride || g.stride_x > kFastMaxStride || g.kernel_x > kFastMaxKernelX) {
    return false;
  }
  // The blocks, tap tables and padded copies know one group, taps one pixel apart and "same"
  // padding; other geometries go to the grouped paths (conv2d_grouped.cpp) or im2col + GEMM.
  if (!g.is_dense_same()) return false;
  const std::size_t padded = (g.in_y + g.kernel_y) * (g.in_x + g.kernel_x + 16);
  const std::size_t out_pixels = g.out_y() * g.out_x();
  return fits_int32(g.channels * padded * 8) && fits_int32(g.kernels * padded * 8) &&
         fits_int32(out_pixels * 256 * (g.kernels + 16));
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
  p.mode = utilisation(out_x, isa.lanes) > std::max(ovec, pairs) ? FastMode::kPixelVector
                                                                 : FastMode::kOutputVector;
  p.pixel_pairs = p.mode == FastMode::kOutputVector && pairs > ovec;
  p.padded_y = g.in_y + g.kernel_y - 1;
  p.phase_x = ceil_div(g.in_x + g.kernel_x - 1, g.stride_x);
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
    while (p.edge_top < std::min(kFastMaxEdgeRows, out_y) &&
           valid_kernel_rows(g, p.edge_top).begin > 0) {
      ++p.edge_top;
    }
    while (p.edge_bottom < std::min(kFastMaxEdgeRows, out_y - p.edge_top) &&
           valid_kernel_rows(g, out_y - 1 - p.edge_bottom).end < g.kernel_y) {
      ++p.edge_bottom;
    }
    // In place only where the edge rows leave out every kernel row that reads padding: the
    // rows between them read none (their valid kernel rows only grow towards the middle).
    const std::size_t middle = p.edge_top, middle_end = out_y - p.edge_bottom;
    const bool edge_rows_cover_padding =
        middle >= middle_end || (valid_kernel_rows(g, middle).begin == 0 &&
                                 valid_kernel_rows(g, middle_end - 1).end == g.kernel_y);
    const bool one_block = ceil_div(units, p.max_units) == 1 && units >= 2;
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
    p.pvec_outputs = ceil_div(g.kernels, ceil_div(g.kernels, 8));
    p.pvec_rows = pixel_block_rows(p.pvec_outputs, isa.registers);
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
  // of its lane use.
  const bool unit_stride = g.stride_y == 1 && g.stride_x == 1;
  const std::size_t phase_y = ceil_div(g.in_y, g.stride_y), phase_x = ceil_div(g.in_x, g.stride_x);
  const double phase_lanes = utilisation(phase_x, isa.lanes) * (unit_stride ? 1.0 : 0.9);
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
    p.pvec_outputs = ceil_div(g.channels, ceil_div(g.channels, 8));
    p.pvec_rows = pixel_block_rows(p.pvec_outputs, isa.registers);
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

  p.dw_kernel_registers =
      2 * g.kernel_x <= isa.max_acc ? register_blocks(g.kernels, isa.lanes) : std::size_t{1};
  p.dw_block_kernels = p.dw_kernel_registers * isa.lanes;
  p.dw_padded_kernels = round_up(g.kernels, p.dw_block_kernels);
  p.dw_kernel_rows = std::max<std::size_t>(1, isa.max_acc / (p.dw_kernel_registers * g.kernel_x));
  p.dw_mode = g.stride_x == 1 && utilisation(out_x, isa.lanes) > utilisation(g.kernels, isa.lanes)
                  ? FastMode::kPixelVector
                  : FastMode::kOutputVector;
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
    // block's planes within 32 KiB of L1.
    const std::size_t error_bytes = pixels * p.dw_padded_kernels * sizeof(float);
    const std::size_t planes_bytes = p.dw_kernel_rows * g.in_y * g.in_x * sizeof(float);
    pass_samples = std::min(256 * 1024 / error_bytes, 32 * 1024 / planes_bytes);
  } else {
    // Enough pixels per pass that loading and storing the accumulators is noise.
    const std::size_t pass_pixels = p.dw_mode == FastMode::kPixelVector ? 4096 : 256;
    pass_samples = ceil_div(pass_pixels, pixels);
  }
  p.samples_per_pass = std::clamp<std::size_t>(pass_samples, 1, ceil_div(g.batch, p.groups));
  p.plain_y = g.in_y + g.kernel_y - 1;
  p.plain_x = g.in_x + g.kernel_x - 1;
  p.plain_plane = p.plain_y * p.plain_x;
  p.pixel_table = layout.add(p.samples_per_pass * pixels + 2 * pixels, p.threads);
  p.dw_input = layout.add(
      p.dw_direct ? 0 : p.samples_per_pass * g.channels * p.plain_plane + 2 * isa.lanes, p.threads);
  if (p.dw_mode == FastMode::kOutputVector) {
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
