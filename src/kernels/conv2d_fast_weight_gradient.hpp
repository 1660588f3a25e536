// The weight and bias gradients of the fast convolution kernels, the part of the backward driver
// (conv2d_fast_backward.hpp) that runs the dw and dwp blocks (conv2d_fast_dw_blocks.hpp): a
// pass's tables and pixel-major E, the blocks over a pass, and the bias sums. Compiled once per
// ISA, like the blocks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/conv2d_fast_blocks.hpp"
#include "kernels/conv2d_fast_dw_blocks.hpp"
#include "kernels/conv2d_fast_memory.hpp"
#include "kernels/conv2d_fast_plan.hpp"

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {
// Sum of n floats in a fixed order: four registers of partial sums (independent chains, so the
// adds overlap), added as (0 + 1) + (2 + 3), then their lanes in order. partial_sum gives the
// register before its lanes are added.
inline Reg partial_sum(const float* values, std::size_t n) {
  Reg partial[4] = {Simd::zero(), Simd::zero(), Simd::zero(), Simd::zero()};
  std::size_t q = 0;
  for (; q + 4 * kLanes <= n; q += 4 * kLanes) {
    for (int r = 0; r < 4; ++r)
      partial[r] = Simd::add(partial[r], Simd::load(values + q + r * kLanes));
  }
  for (int r = 0; q < n; q += kLanes, ++r) {
    const int count = static_cast<int>(n - q < kLanes ? n - q : kLanes);
    partial[r] = Simd::add(partial[r], Simd::load_first(values + q, count));
  }
  return Simd::add(Simd::add(partial[0], partial[1]), Simd::add(partial[2], partial[3]));
}

inline float sum_of(const float* values, std::size_t n) {
  float lanes[kLanes];
  Simd::store(lanes, partial_sum(values, n));
  float sum = 0.0f;
  for (const float lane : lanes) sum += lane;
  return sum;
}

// sums[k] += sum_of(rows + k * n, n) for k < count, bit for bit, kLanes rows at a time: their
// partial_sum registers transposed, so that one vector add per lane adds that lane of kLanes
// rows, in sum_of's order (from zero, lane 0 first). (sum_of row by row, for the many short rows
// of E in dwp's bias gradient, spent more on its serial lane sums than dwp on its FMAs.)
inline void add_sums_of(const float* rows, std::size_t count, std::size_t n, float* sums) {
  for (std::size_t k0 = 0; k0 < count; k0 += kLanes) {
    const int block = static_cast<int>(count - k0 < kLanes ? count - k0 : kLanes);
    Reg tile[kLanes];
    for (int i = 0; i < kLanes; ++i) {
      tile[i] = i < block ? partial_sum(rows + (k0 + i) * n, n) : Simd::zero();
    }
    Simd::transpose(tile);
    Reg sum = Simd::zero();
    for (int lane = 0; lane < kLanes; ++lane) sum = Simd::add(sum, tile[lane]);
    Simd::store_first(sums + k0, Simd::add(Simd::load_first(sums + k0, block), sum), block);
  }
}

// sums[k] += E of pixel q and kernel k for q < n, k < padded kernels, q in order for every k: the
// bias gradient, from the pass's pixel-major E in kernel blocks (FastBackwardPlan::
// dw_error_block; kernel k at rows + k / block * block_stride + q * block + k % block).
// `Registers` registers of sums at a time, so that the adds of one pixel overlap instead of each
// waiting for the one before.
template <int Registers>
void add_rows_block(const float* const* rows, std::size_t n, std::size_t ld, float* sums) {
  Reg sum[Registers];
#pragma GCC unroll 8
  for (int r = 0; r < Registers; ++r) sum[r] = Simd::load(sums + r * kLanes);
  for (std::size_t q = 0; q < n; ++q) {
#pragma GCC unroll 8
    for (int r = 0; r < Registers; ++r) sum[r] = Simd::add(sum[r], Simd::load(rows[r] + q * ld));
  }
#pragma GCC unroll 8
  for (int r = 0; r < Registers; ++r) Simd::store(sums + r * kLanes, sum[r]);
}

inline void add_rows(const float* rows, std::size_t n, std::size_t block, std::size_t block_stride,
                     std::size_t padded, float* sums) {
  constexpr std::size_t kBlock = 8;
  const float* starts[kBlock];
  const auto start = [&](std::size_t k) { return rows + k / block * block_stride + k % block; };
  std::size_t k0 = 0;
  for (; k0 + kBlock * kLanes <= padded; k0 += kBlock * kLanes) {
    for (std::size_t r = 0; r < kBlock; ++r) starts[r] = start(k0 + r * kLanes);
    add_rows_block<kBlock>(starts, n, block, sums + k0);
  }
  for (; k0 < padded; k0 += kLanes) {
    starts[0] = start(k0);
    add_rows_block<1>(starts, n, block, sums + k0);
  }
}

// Weight-gradient pass over the samples now in `input` (their zero-padded copies, no phases, or
// with dw_direct the input itself) and `error_t` (pixel-major), adding onto this thread's
// partial sums.
inline void weight_gradient_pass(const FastBackwardPlan& p, float* ws, std::size_t thread,
                                 std::size_t samples, const float* input, const float* error_t,
                                 const float* error, bool fresh, float* partial) {
  const ConvGeometry& g = p.g;
  if (p.dw_mode == FastMode::kPixelVector) {
    // error: E of the pass's first sample, (K, Y', X') per sample, as given.
    const std::size_t out_pixels = g.out_y() * g.out_x();
    const std::size_t pieces = (g.kernels + p.dwp_kernels - 1) / p.dwp_kernels;
    for (std::size_t c = 0; c < g.channels; ++c) {
      for (std::size_t u = 0; u < g.kernel_y; ++u) {
        const float* x = input + c * p.plain_plane + u * p.plain_x;
        float* row_partial = partial + (c * g.kernel_y + u) * g.kernels * g.kernel_x * kLanes;
        for (std::size_t piece = 0; piece < pieces; ++piece) {
          const std::size_t k0 = piece_begin(g.kernels, pieces, piece);
          const std::size_t k1 = piece_begin(g.kernels, pieces, piece + 1);
          dwp_kernel(static_cast<int>(k1 - k0), static_cast<int>(g.kernel_x), g.stride_x > 1)(
              x, g.stride_x, p.dw_phase_x, g.channels * p.plain_plane, g.stride_y * p.plain_x,
              error + k0 * out_pixels, g.kernels * out_pixels, out_pixels, samples, g.out_y(),
              g.out_x(), fresh, row_partial + k0 * g.kernel_x * kLanes);
        }
      }
    }
    return;
  }
  // ovec: the pass's pixels in the order of FastBackwardPlan::dw_columns (column group, output
  // row i, sample, column j), their offsets in pixel_table and their E in error_t.
  const float* pixel_table = region(ws, p.pixel_table, thread);
  const std::size_t row_stride =
      g.kernel_x * p.dw_padded_kernels;  // partial: (c, u) rows of (v, k)
  const int blocks = static_cast<int>(p.dw_kernel_registers);
  const float* bases[Simd::kMaxAccumulators];
  if (!p.dw_direct) {
    // input: the pass's padded copies; rows (c, u) in order, over every pixel.
    const std::size_t pixels = samples * g.out_y() * g.out_x();
    const std::size_t kernel_rows = g.channels * g.kernel_y;
    const bool pairs = p.dw_pairs_over(g.out_x());
    // The (c, u) rows in near-equal blocks of at most dw_kernel_rows rows: each block reads every
    // pixel's E once more, so fewer and fuller blocks read it least.
    const std::size_t row_blocks = (kernel_rows + p.dw_kernel_rows - 1) / p.dw_kernel_rows;
    for (std::size_t k0 = 0; k0 < p.dw_padded_kernels; k0 += p.dw_block_kernels) {
      const float* kernel_block = error_t + k0 / p.dw_block_kernels * p.dw_error_block;
      for (std::size_t block = 0; block < row_blocks; ++block) {
        const std::size_t r0 = piece_begin(kernel_rows, row_blocks, block);
        const std::size_t rows = piece_begin(kernel_rows, row_blocks, block + 1) - r0;
        for (std::size_t r = 0; r < rows; ++r) {
          const std::size_t c = (r0 + r) / g.kernel_y, u = (r0 + r) % g.kernel_y;
          bases[r] = input + c * p.plain_plane + u * p.plain_x;
        }
        dw_kernel(blocks, static_cast<int>(rows), static_cast<int>(g.kernel_x), pairs)(
            bases, pixel_table, pixels, kernel_block, p.dw_block_kernels, fresh,
            partial + r0 * row_stride + k0, row_stride, p.dw_padded_kernels);
      }
    }
    return;
  }
  // Direct: input is the pass's first sample itself. Rows (c0 + r, u) (partial rows kernel_y
  // apart), each column group over the output rows whose row u reads the image, from its first
  // kernel column on; the first group (all n columns) starts the partial sums when `fresh`, even
  // with no rows to read. Channel blocks outermost (unless dw_kernels_outer): a block's planes
  // come from memory once and stay in L1 for all its kernels, rows and columns (E comes from L2
  // meanwhile), while the next block's planes are prefetched a few lines per call. Either order
  // adds each sum's pixels in the same order.
  const std::size_t in_plane = g.in_y * g.in_x;
  const auto channel_block = [&](std::size_t c0, std::size_t k_begin, std::size_t k_end) {
    const std::size_t next = c0 + p.dw_kernel_rows < g.channels ? c0 + p.dw_kernel_rows : c0;
    const std::size_t calls =
        (k_end - k_begin) / p.dw_block_kernels * p.dw_column_groups * g.kernel_y;
    PrefetchRuns next_planes(input + next * in_plane, next > c0 ? samples : 0,
                             p.dw_kernel_rows * in_plane, g.channels * in_plane, calls);
    for (std::size_t k0 = k_begin; k0 < k_end; k0 += p.dw_block_kernels) {
      const float* kernel_block = error_t + k0 / p.dw_block_kernels * p.dw_error_block;
      for (std::size_t group = 0; group < p.dw_column_groups; ++group) {
        const DwColumns& columns = p.dw_columns[group];
        const std::size_t row_pixels = samples * (columns.end - columns.begin);  // per output row
        const DwFn block = dw_kernel(blocks, static_cast<int>(p.dw_kernel_rows),
                                     static_cast<int>(columns.v_end - columns.v_begin),
                                     p.dw_pairs_over(columns.end - columns.begin));
        for (std::size_t u = 0; u < g.kernel_y; ++u) {
          const KernelRows reading = valid_output_rows(g, u);
          const std::size_t first =
              samples * g.out_y() * columns.before + reading.begin * row_pixels;
          for (std::size_t r = 0; r < p.dw_kernel_rows; ++r) {
            bases[r] = input + (c0 + r) * in_plane + u * g.in_x + columns.v_begin;
          }
          next_planes.step_for_read();
          block(bases, pixel_table + first, (reading.end - reading.begin) * row_pixels,
                kernel_block + first * p.dw_block_kernels, p.dw_block_kernels, fresh && group == 0,
                partial + (c0 * g.kernel_y + u) * row_stride +
                    columns.v_begin * p.dw_padded_kernels + k0,
                g.kernel_y * row_stride, p.dw_padded_kernels);
        }
      }
    }
  };
  if (p.dw_kernels_outer) {
    for (std::size_t k0 = 0; k0 < p.dw_padded_kernels; k0 += p.dw_block_kernels) {
      for (std::size_t c0 = 0; c0 < g.channels; c0 += p.dw_kernel_rows) {
        channel_block(c0, k0, k0 + p.dw_block_kernels);
      }
    }
    return;
  }
  for (std::size_t c0 = 0; c0 < g.channels; c0 += p.dw_kernel_rows) {
    channel_block(c0, 0, p.dw_padded_kernels);
  }
}

// The tables of a pass of `samples` samples (ovec, weight gradient; FastBackwardPlan::
// pixel_table), pixel by pixel in the order of FastBackwardPlan::dw_columns (group, output row i,
// sample, column j): the offsets into the pass's padded copies or (direct) into the input itself,
// less the padding before the image (the blocks' bases add u and v back); then where pixel
// (i, j) of each sample goes in error_t.
inline void pass_tables(const FastBackwardPlan& p, std::size_t samples, float* table) {
  const ConvGeometry& g = p.g;
  const std::size_t sample_stride =
      p.dw_direct ? g.channels * g.in_y * g.in_x : g.channels * p.plain_plane;
  const std::size_t row = p.dw_direct ? g.in_x : p.plain_x;
  const std::ptrdiff_t shift =
      p.dw_direct ? -static_cast<std::ptrdiff_t>(g.pad_y_before() * g.in_x + g.pad_x_before()) : 0;
  const std::size_t pixels = g.out_y() * g.out_x();
  float* error_rows = table + samples * pixels;  // per pixel of a sample: row, rows apart
  std::size_t n = 0;
  for (std::size_t group = 0; group < p.dw_column_groups; ++group) {
    const DwColumns& columns = p.dw_columns[group];
    const std::size_t width = columns.end - columns.begin;
    for (std::size_t i = 0; i < g.out_y(); ++i) {
      for (std::size_t j = columns.begin; j < columns.end; ++j) {
        const std::size_t q = i * g.out_x() + j;
        set_offset(error_rows, 2 * q,
                   static_cast<std::ptrdiff_t>(samples * (g.out_y() * columns.before + i * width) +
                                               j - columns.begin));
        set_offset(error_rows, 2 * q + 1, static_cast<std::ptrdiff_t>(width));
      }
      for (std::size_t s = 0; s < samples; ++s) {
        for (std::size_t j = columns.begin; j < columns.end; ++j, ++n) {
          set_offset(table, n,
                     static_cast<std::ptrdiff_t>(s * sample_stride + i * g.stride_y * row +
                                                 j * g.stride_x) +
                         shift);
        }
      }
    }
  }
}

// E of sample s of a pass of `samples` into the pass's pixel-major error_t, kernel block by
// kernel block (FastBackwardPlan::dw_error_block), each pixel to its row there (pass_tables).
inline void pass_error(const FastBackwardPlan& p, const float* table, const float* error,
                       std::size_t s, std::size_t samples, float* error_t) {
  const ConvGeometry& g = p.g;
  const std::size_t pixels = g.out_y() * g.out_x();
  const float* error_rows = table + samples * pixels;
  const auto row_of = [error_rows, s](std::size_t q) {
    return static_cast<std::size_t>(offset_at(error_rows, 2 * q) +
                                    static_cast<std::int32_t>(s) *
                                        offset_at(error_rows, 2 * q + 1));
  };
  for (std::size_t k0 = 0; k0 < g.kernels; k0 += p.dw_block_kernels) {
    transpose_sum_to(error + k0 * pixels, 1, 0, std::min(p.dw_block_kernels, g.kernels - k0),
                     pixels, pixels, error_t + k0 / p.dw_block_kernels * p.dw_error_block,
                     p.dw_block_kernels, row_of);
  }
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
