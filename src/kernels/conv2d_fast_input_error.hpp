// The input error of the fast convolution kernels: E_{n-1} is the same register blocks run over
// the zero-padded error tensor with the weights transposed (channels <-> kernels). A strided
// layer is split into stride_y x stride_x phases, each a stride-1 correlation with the taps that
// reach it, so no FLOP is spent on the zeros of the upsampled error. Used by the backward driver
// (conv2d_fast_backward.hpp); compiled once per ISA, like the blocks.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstddef>

#include "kernels/conv2d_fast_blocks.hpp"
#include "kernels/conv2d_fast_memory.hpp"
#include "kernels/conv2d_fast_plan.hpp"
#include "kernels/conv2d_fast_row_tap_blocks.hpp"

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// Taps of the input error, phase by phase. Output pixel (y, x) with y % sy = py, x % sx = px
// receives W[k, c, u, v] * E[k, i, j] exactly where i*sy + u = y + pad_y_before (and likewise in
// x): for phase pixel (yy, xx) that is i = yy + du with du = (py + pad_y_before - u) / sy.
// Writes the taps of every phase in order and their start indices to `starts`
// (sy*sx + 1 entries), and for an ovec plan the edge rows' tables (the same taps without the
// kernel rows that read the zeros around E, each with its position t in the phase order).
inline void backward_taps(const FastBackwardPlan& p, float* taps, float* position, float* edge_taps,
                          std::size_t* starts) {
  const ConvGeometry& g = p.g;
  const auto sy = static_cast<std::ptrdiff_t>(g.stride_y);
  const auto sx = static_cast<std::ptrdiff_t>(g.stride_x);
  const auto pby = static_cast<std::ptrdiff_t>(g.pad_y_before());
  const auto pbx = static_cast<std::ptrdiff_t>(g.pad_x_before());
  const std::size_t per_kernel = g.kernel_y * g.kernel_x;
  const bool ovec = p.mode == FastMode::kOutputVector;
  // Calls visit(u, tap, t, source) for the taps of phase (py, px) in order, t counting on from
  // `first`. The kernel rows that reach the phase are u0, u0 + sy, ... with u0 = (py + pad) % sy,
  // each one E row further up (du falls by one), and likewise the columns: no division per tap
  // (this runs on one thread, before the team starts).
  const auto for_each_tap = [&](std::ptrdiff_t py, std::ptrdiff_t px, std::size_t first,
                                const auto& visit) {
    const auto u0 = static_cast<std::size_t>((py + pby) % sy);
    const auto v0 = static_cast<std::size_t>((px + pbx) % sx);
    const std::ptrdiff_t du0 = (py + pby - static_cast<std::ptrdiff_t>(u0)) / sy;
    const std::ptrdiff_t dv0 = (px + pbx - static_cast<std::ptrdiff_t>(v0)) / sx;
    const auto row = static_cast<std::ptrdiff_t>(p.error_x);
    std::size_t t = first;
    for (std::size_t k = 0; k < g.kernels; ++k) {
      const auto plane = static_cast<std::ptrdiff_t>(k * p.error_plane);
      std::ptrdiff_t du = du0;
      for (std::size_t u = u0; u < g.kernel_y; u += g.stride_y, --du) {
        std::ptrdiff_t dv = dv0;
        for (std::size_t v = v0; v < g.kernel_x; v += g.stride_x, --dv) {
          visit(u, k * per_kernel + u * g.kernel_x + v, t, plane + du * row + dv);
          ++t;
        }
      }
    }
    return t;
  };
  std::size_t t = 0;
  for (std::ptrdiff_t py = 0; py < sy; ++py) {
    for (std::ptrdiff_t px = 0; px < sx; ++px) {
      starts[py * sx + px] = t;
      t = for_each_tap(py, px, t,
                       [&](std::size_t, std::size_t tap, std::size_t n, std::ptrdiff_t source) {
                         // ovec: weights stored in phase order (n); pvec (one phase): in tap order.
                         const std::size_t weight = ovec ? n * p.block_channels : tap * g.channels;
                         set_offset(taps, 2 * n, source);
                         set_offset(taps, 2 * n + 1, static_cast<std::ptrdiff_t>(weight));
                         if (ovec) set_offset(position, tap, static_cast<std::ptrdiff_t>(n));
                       });
    }
  }
  starts[sy * sx] = t;
  if (!ovec) return;
  float* table = edge_taps;
  for (std::size_t py = 0; py < g.stride_y; ++py) {
    const std::size_t rows = py < g.in_y ? (g.in_y - py + g.stride_y - 1) / g.stride_y : 0;
    const std::size_t top = p.dx_edge_top[py], bottom = p.dx_edge_bottom[py];
    for (std::size_t px = 0; px < g.stride_x; ++px) {
      for (std::size_t e = 0; e < top + bottom; ++e, table += 2 * g.kernels * per_kernel) {
        const std::size_t yy = e < top ? e : rows - top - bottom + e;
        std::size_t n = 0;
        for_each_tap(
            static_cast<std::ptrdiff_t>(py), static_cast<std::ptrdiff_t>(px),
            starts[py * g.stride_x + px],
            [&](std::size_t u, std::size_t, std::size_t position_in_phase, std::ptrdiff_t source) {
              if (!reads_error(g, py, yy, u)) return;
              set_offset(table, 2 * n, source);
              set_offset(table, 2 * n + 1,
                         static_cast<std::ptrdiff_t>(position_in_phase * p.block_channels));
              ++n;
            });
      }
    }
  }
}

inline void backward_tables(const FastBackwardPlan& p, const float* weights, float* ws,
                            std::size_t thread, std::size_t threads) {
  const ConvGeometry& g = p.g;
  const std::size_t per_kernel = g.kernel_y * g.kernel_x;
  const std::size_t taps = g.kernels * per_kernel;
  // Kernel k's (C, m*n) slice -> (m*n, C): for the output-vector kernel per channel group, each
  // row to its place in phase order (C/block_channels, taps in phase order, block_channels) by way
  // of a scratch of one kernel's rows; for the pixel-vector kernel (K*m*n, C) in tap order.
  const bool ovec = p.mode == FastMode::kOutputVector;
  float* table = region(ws, p.dx_weights);
  float* rows_of_kernel = region(ws, p.dx_staging, thread);
  const float* position = ws + p.dx_position.offset;
  const std::size_t k0 = runtime::share(g.kernels, threads, thread);
  const std::size_t k1 = runtime::share(g.kernels, threads, thread + 1);
  for (std::size_t k = k0; k < k1; ++k) {
    const float* slice = weights + k * g.channels * per_kernel;
    // The next kernel's slice while this one is reordered (prefetch_ahead says why).
    if (k + 1 < k1) {
      for (std::size_t q = 0; q < g.channels * per_kernel; q += 16) {
        _mm_prefetch(reinterpret_cast<const char*>(slice + g.channels * per_kernel + q),
                     _MM_HINT_T0);
      }
    }
    if (!ovec) {
      transpose(slice, g.channels, per_kernel, per_kernel, table + k * per_kernel * g.channels,
                g.channels);
      continue;
    }
    for (std::size_t c0 = 0; c0 < p.padded_channels; c0 += p.block_channels) {
      const std::size_t channels =
          c0 < g.channels ? std::min(p.block_channels, g.channels - c0) : 0;
      if (channels < p.block_channels) {
        std::memset(rows_of_kernel, 0, per_kernel * p.block_channels * sizeof(float));
      }
      if (channels > 0) {
        transpose(slice + c0 * per_kernel, channels, per_kernel, per_kernel, rows_of_kernel,
                  p.block_channels);
      }
      float* group = table + (c0 / p.block_channels) * taps * p.block_channels;
      for (std::size_t uv = 0; uv < per_kernel; ++uv) {
        const auto t = static_cast<std::size_t>(offset_at(position, k * per_kernel + uv));
        copy_row(rows_of_kernel + uv * p.block_channels, p.block_channels,
                 group + t * p.block_channels);
      }
    }
  }
}

// The first edge-row table of phase (py, px) (backward_taps writes them phase by phase).
inline const float* edge_tables(const FastBackwardPlan& p, const float* ws, std::size_t py,
                                std::size_t px) {
  const ConvGeometry& g = p.g;
  std::size_t first = 0;
  for (std::size_t y = 0; y < py; ++y) {
    first += (p.dx_edge_top[y] + p.dx_edge_bottom[y]) * g.stride_x;
  }
  first += px * (p.dx_edge_top[py] + p.dx_edge_bottom[py]);
  return ws + p.dx_edge_taps.offset + first * 2 * g.kernels * g.kernel_y * g.kernel_x;
}

// The input rows [begin, end) of piece `piece` of a sample's input error
// (FastBackwardPlan::dx_row_pieces).
inline KernelRows input_error_rows(const FastBackwardPlan& p, std::size_t piece) {
  return {piece_begin(p.g.in_y, p.dx_row_pieces, piece),
          piece_begin(p.g.in_y, p.dx_row_pieces, piece + 1)};
}

// A phase of the input error (`count` planes of rows x columns, side by side) to its pixels:
// rows row_step apart, planes plane apart, columns step apart from `to`. A function of its own,
// not inlined: inside input_error_sample GCC kept none of the loop's values in registers and
// reloaded them from the stack for every float.
[[gnu::noinline]] inline void scatter_phase(const float* from, std::size_t count, std::size_t rows,
                                            std::size_t columns, std::size_t row_step,
                                            std::size_t plane, std::size_t step, float* to) {
  for (std::size_t c = 0; c < count; ++c) {
    for (std::size_t y = 0; y < rows; ++y, from += columns) {
      float* row = to + c * plane + y * row_step;
      for (std::size_t x = 0; x < columns; ++x) row[step * x] = from[x];
    }
  }
}

// Input error of one sample, input rows [rows.begin, rows.end) (ovec; pvec takes every row):
// E (K, Y', X') padded into `error` (the rows of E that those rows read), result into
// input_error (by way of `blocked`, ovec not planar, or `phase_error`, pvec strided).
inline void input_error_sample(const FastBackwardPlan& p, const float* ws,
                               const std::size_t* starts, const float* error, float* padded_error,
                               float* blocked, float* phase_error, float* input_error,
                               KernelRows rows) {
  const ConvGeometry& g = p.g;
  const std::size_t out_y = g.out_y(), out_x = g.out_x();
  const bool whole = rows.begin == 0 && rows.end == g.in_y;
  // Input row y reads the E rows i with i*sy + u = y + pad for a kernel row u < m.
  const std::size_t pad = g.pad_y_before(), sy = g.stride_y, sx = g.stride_x;
  const std::size_t first_read =
      rows.begin + pad + 1 > g.kernel_y ? (rows.begin + pad + 1 - g.kernel_y + sy - 1) / sy : 0;
  const std::size_t end_read = std::min(out_y, (rows.end - 1 + pad) / sy + 1);
  for (std::size_t k = 0; k < g.kernels; ++k) {
    for (std::size_t i = first_read; i < end_read; ++i) {
      copy_row(error + (k * out_y + i) * out_x, out_x,
               padded_error + k * p.error_plane + (i + p.error_pad_y_before) * p.error_x +
                   p.error_pad_x_before);
    }
  }
  const float* taps = ws + p.dx_taps.offset;
  const float* table = ws + p.dx_weights.offset;
  const std::size_t plane = g.in_y * g.in_x;
  if (p.mode == FastMode::kPixelVector) {
    // Phase by phase: phase pixel (yy, xx) reads E rows yy + du and columns xx + dv, a stride-1
    // correlation. At stride 1 the one phase is the input error itself; otherwise the phase
    // goes to phase_error, then to its pixels (py + sy*yy, px + sx*xx).
    const bool unit_stride = sy == 1 && sx == 1;
    const std::size_t pieces = (g.channels + p.pvec_outputs - 1) / p.pvec_outputs;
    for (std::size_t py = 0; py < std::min(sy, g.in_y); ++py) {
      for (std::size_t px = 0; px < std::min(sx, g.in_x); ++px) {
        const std::size_t phase = py * sx + px;
        const std::size_t phase_y = (g.in_y - py + sy - 1) / sy;
        const std::size_t phase_x = (g.in_x - px + sx - 1) / sx;
        float* const dst = unit_stride ? input_error : phase_error;
        const std::size_t dst_plane = unit_stride ? plane : phase_y * phase_x;
        // The phase's taps: kernel_rows x columns per kernel (row taps: FastBackwardPlan).
        std::size_t kernel_rows = 0;
        for (std::size_t u = 0; u < g.kernel_y; ++u) kernel_rows += in_phase(g, py, u);
        const std::size_t phase_taps = starts[phase + 1] - starts[phase];
        const bool row_taps = p.dx_row_taps && kernel_rows >= 2;
        // Bands of rows, each across the whole width: a band reads rows + m - 1 rows of every
        // plane of E, which stay in L2 while it runs; a strip of kLanes columns down all the
        // rows, the other way round, reads lines of every row of every plane (for many kernels
        // over large images more than L2 holds) and reads them again for the next strip.
        const std::size_t band = row_taps ? p.dx_row_tap_rows : p.pvec_rows;
        const bool line = phase_y == 1 && !row_taps;
        if (line) {
          // One row: up to pvec_rows registers of it side by side per block (pvec_block's Line).
          const float* src = padded_error + p.error_pad_y_before * p.error_x + p.error_pad_x_before;
          for (std::size_t x0 = 0; x0 < phase_x; x0 += p.pvec_rows * kLanes) {
            const std::size_t registers =
                std::min(p.pvec_rows, (phase_x - x0 + kLanes - 1) / kLanes);
            const int valid = static_cast<int>(
                std::min<std::size_t>(kLanes, phase_x - x0 - (registers - 1) * kLanes));
            for (std::size_t piece = 0; piece < pieces; ++piece) {
              const std::size_t c0 = piece_begin(g.channels, pieces, piece);
              const std::size_t c1 = piece_begin(g.channels, pieces, piece + 1);
              pvec_line_kernel(static_cast<int>(c1 - c0), static_cast<int>(registers))(
                  src + x0, kLanes, taps + 2 * starts[phase], phase_taps, table + c0, nullptr,
                  valid, dst + c0 * dst_plane + x0, dst_plane, kLanes);
            }
          }
        }
        for (std::size_t y0 = 0; y0 < (line ? 0 : phase_y); y0 += band) {
          const std::size_t rows = std::min(band, phase_y - y0);
          for (std::size_t x0 = 0; x0 < phase_x; x0 += kLanes) {
            const int valid = static_cast<int>(std::min<std::size_t>(kLanes, phase_x - x0));
            for (std::size_t piece = 0; piece < pieces; ++piece) {
              const std::size_t c0 = piece_begin(g.channels, pieces, piece);
              const std::size_t c1 = piece_begin(g.channels, pieces, piece + 1);
              const float* src = padded_error + (y0 + p.error_pad_y_before) * p.error_x + x0 +
                                 p.error_pad_x_before;
              float* const to = dst + c0 * dst_plane + y0 * phase_x + x0;
              if (row_taps) {
                pvec_rows_kernel(static_cast<int>(c1 - c0), static_cast<int>(rows),
                                 static_cast<int>(kernel_rows))(
                    src, p.error_x, taps + 2 * starts[phase], g.kernels,
                    phase_taps / (g.kernels * kernel_rows), sy * g.kernel_x * g.channels,
                    table + c0, valid, to, dst_plane, phase_x);
                continue;
              }
              pvec_kernel(static_cast<int>(c1 - c0), static_cast<int>(rows))(
                  src, p.error_x, taps + 2 * starts[phase], phase_taps, table + c0, nullptr, valid,
                  to, dst_plane, phase_x);
            }
          }
        }
        if (unit_stride) continue;
        scatter_phase(phase_error, g.channels, phase_y, phase_x, sy * g.in_x, plane, sx,
                      input_error + py * g.in_x + px);
      }
    }
    return;
  }
  const std::size_t taps_per_phase = g.kernels * g.kernel_y * g.kernel_x;  // at most
  std::size_t steps = 0;  // register-block calls below, over which to prefetch input_error
  for (std::size_t py = 0; py < std::min(sy, g.in_y); ++py) {
    for (std::size_t px = 0; px < std::min(sx, g.in_x); ++px) {
      const std::size_t phase_x = (g.in_x - px + sx - 1) / sx;
      steps += (g.in_y - py + sy - 1) / sy * ((phase_x + p.max_units - 1) / p.max_units);
    }
  }
  // (A piece of the rows leaves the prefetch out: its rows of each plane are no one run.)
  PrefetchStream destination(
      input_error, whole ? g.channels * plane : 0,
      steps * (p.padded_channels / p.block_channels) * ((g.kernels + p.chunk - 1) / p.chunk));
  for (std::size_t c0 = 0; c0 < p.padded_channels; c0 += p.block_channels) {
    const float* group =
        table + (c0 / p.block_channels) * g.kernels * g.kernel_y * g.kernel_x * p.block_channels;
    for (std::size_t k0 = 0; k0 < g.kernels; k0 += p.chunk) {
      const std::size_t kernels = std::min(p.chunk, g.kernels - k0);
      for (std::size_t py = 0; py < std::min(sy, g.in_y); ++py) {
        for (std::size_t px = 0; px < std::min(sx, g.in_x); ++px) {
          // The phase's taps are kernel-major, the same number for every kernel.
          const std::size_t phase = py * sx + px;
          const std::size_t per_kernel = (starts[phase + 1] - starts[phase]) / g.kernels;
          const std::size_t phase_y = (g.in_y - py + sy - 1) / sy;
          const std::size_t phase_x = (g.in_x - px + sx - 1) / sx;
          const std::size_t pieces = (phase_x + p.max_units - 1) / p.max_units;
          const std::size_t top = p.dx_edge_top[py], bottom = p.dx_edge_bottom[py];
          std::size_t rows_in_phase = 0;  // kernel rows u that reach phase row py
          for (std::size_t u = 0; u < g.kernel_y; ++u) rows_in_phase += in_phase(g, py, u);
          const float* phase_edges = edge_tables(p, ws, py, px);
          // The phase's rows among rows [begin, end): py + sy*yy in it.
          const auto phase_row = [&](std::size_t y) {
            return std::min(phase_y, y > py ? (y - py + sy - 1) / sy : 0);
          };
          for (std::size_t yy = phase_row(rows.begin); yy < phase_row(rows.end); ++yy) {
            const float* row =
                padded_error + (yy + p.error_pad_y_before) * p.error_x + p.error_pad_x_before;
            // An edge row's own table (without the taps that read the zeros around E).
            const float* phase_taps = taps + 2 * (starts[phase] + k0 * per_kernel);
            std::size_t row_per_kernel = per_kernel;
            if (yy < top || yy + bottom >= phase_y) {
              const std::size_t e = yy < top ? yy : top + yy - (phase_y - bottom);
              std::size_t reading = 0;
              for (std::size_t u = 0; u < g.kernel_y; ++u) {
                reading += in_phase(g, py, u) && reads_error(g, py, yy, u);
              }
              row_per_kernel = per_kernel / rows_in_phase * reading;
              phase_taps = phase_edges + e * 2 * taps_per_phase + 2 * k0 * row_per_kernel;
            }
            for (std::size_t piece = 0; piece < pieces; ++piece) {
              const std::size_t x0 = piece_begin(phase_x, pieces, piece);
              const std::size_t x1 = piece_begin(phase_x, pieces, piece + 1);
              if (p.dx_planar) {
                ovec_planar_kernel(static_cast<int>(x1 - x0), false)(
                    row + x0, phase_taps, BlockTaps{kernels * row_per_kernel}, group, nullptr,
                    input_error + c0 * plane + (py + sy * yy) * g.in_x + px + x0, plane,
                    kLanes * plane);
                continue;
              }
              float* dst = blocked + c0 * plane + ((py + sy * yy) * g.in_x + px + sx * x0) * kLanes;
              destination.step_for_write();
              ovec_kernel(static_cast<int>(p.channel_registers), static_cast<int>(x1 - x0))(
                  row + x0, phase_taps, BlockTaps{kernels * row_per_kernel}, group,
                  k0 == 0 ? nullptr : dst, dst, sx * kLanes, plane * kLanes);
            }
          }
        }
      }
    }
    if (p.dx_planar) continue;
    // The group's channels are final: back to planes while they are still in L1 (a whole
    // sample's channels, transposed at the end, would come from L2).
    const std::size_t first = rows.begin * g.in_x, count = (rows.end - rows.begin) * g.in_x;
    for (std::size_t c = c0; c < std::min(c0 + p.block_channels, g.channels); c += kLanes) {
      transpose(blocked + c * plane + first * kLanes, count,
                std::min<std::size_t>(kLanes, g.channels - c), kLanes,
                input_error + c * plane + first, plane);
    }
  }
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
