// The drivers of the fast convolution kernels: lay one call out as a FastForwardPlan /
// FastBackwardPlan says, prepare the weight tables and padded copies, run the register blocks
// (conv2d_fast_blocks.hpp) over every sample and scatter the results back to (N, C, Y, X).
// Compiled once per ISA, like the blocks (see there).
//
// Threads: one OpenMP team per call; the threads take samples (forward) or groups of samples
// (backward) one at a time as they finish the last, so that a core the machine takes away for a
// while leaves its share to the others. Forward and input error do the same arithmetic in the
// same order whatever thread computes a sample; the weight and bias gradients sum one partial per
// group of samples, in group order (groups fixed by the batch: FastBackwardPlan::groups), so every
// result is the same bit for bit run after run and on 1 to kFastGradientGroups threads.
#pragma once

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "kernels/conv2d_fast_blocks.hpp"
#include "kernels/conv2d_fast_plan.hpp"
#include "kernels/parallel.hpp"

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

inline std::size_t share(std::size_t n, std::size_t parts, std::size_t part) {
  return n * part / parts;
}

inline float* region(float* workspace, const FastRegion& r, std::size_t thread = 0) {
  return workspace + r.offset + thread * r.size;
}

// [begin, end) of piece `i` when `length` is cut into `pieces` near-equal pieces.
inline std::size_t piece_begin(std::size_t length, std::size_t pieces, std::size_t i) {
  return length * i / pieces;
}

// The copies into padded buffers read their source once, front to back, from memory the layer
// before wrote (in L3 or DRAM by now), and the cores' own prefetchers do not run far enough
// ahead of them: W3 d's forward spent 18 us per sample in the copy, 5 us when every 64 bytes
// read first asks for the line 4 KiB further on.
inline void prefetch_ahead(const float* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p) + 4096, _MM_HINT_T0);
}

// Software prefetch spread over work that runs meanwhile: the lines of [begin, begin + floats),
// a few at each step, for data whose turn comes later (the output or input error that a
// transpose writes at the end of a sample: W3 d's backward 3 % faster with it).
class PrefetchStream {
 public:
  PrefetchStream(const float* begin, std::size_t floats, std::size_t steps)
      : next_(reinterpret_cast<const char*>(begin)),
        end_(next_ + floats * sizeof(float)),
        per_step_((floats * sizeof(float) / 64 + steps) / std::max<std::size_t>(steps, 1)) {}
  // The next lines of the stream, to be written.
  void step_for_write() {
    for (std::size_t n = 0; n < per_step_ && next_ < end_; ++n, next_ += 64) {
      _mm_prefetch(next_, _MM_HINT_ET0);
    }
  }

 private:
  const char* next_;
  const char* end_;
  std::size_t per_step_;
};

// n floats from src to dst in registers: the row copies into padded buffers are short (8 to 32
// floats) and many (one per channel and row), where a call to memcpy costs more than the copy.
inline void copy_row(const float* src, std::size_t n, float* dst) {
  std::size_t x = 0;
  for (; x + kLanes <= n; x += kLanes) {
    prefetch_ahead(src + x);
    Simd::store(dst + x, Simd::load(src + x));
  }
  if (x < n) {
    prefetch_ahead(src + x);
    const int rest = static_cast<int>(n - x);
    Simd::store_first(dst + x, Simd::load_first(src + x, rest), rest);
  }
}

// One (C, Y, X) sample into the zero-padded polyphase layout of the forward plan: padded column
// xp = x + pad_x_before goes to phase xp % sx, position xp / sx. Padding is never written here
// (the buffer is zeroed once per call).
inline void fill_polyphase(const FastForwardPlan& p, const float* image, float* padded) {
  const ConvGeometry& g = p.g;
  const std::size_t sx = g.stride_x, pbx = g.pad_x_before(), pby = g.pad_y_before();
  if (sx == 2 && g.in_x <= 2 * kLanes) {
    // Rows of at most two registers (the common case) in one pass over every row of every
    // channel, with nothing per row but the split: the general loop below, with its row setup
    // and its loop over pieces, took three times as long on W3 d's 16-float rows.
    const int n = static_cast<int>(g.in_x);
    float* const even = padded + pby * p.row + (pbx % 2) * p.phase_x + pbx / 2;
    float* const odd = padded + pby * p.row + ((pbx + 1) % 2) * p.phase_x + (pbx + 1) / 2;
    for (std::size_t c = 0; c < g.channels; ++c) {
      for (std::size_t y = 0; y < g.in_y; ++y) {
        const float* src = image + (c * g.in_y + y) * g.in_x;
        const std::size_t at = c * p.plane + y * p.row;
        prefetch_ahead(src);
        if (n > kLanes) prefetch_ahead(src + kLanes);
        Simd::split_even_odd(src, n, even + at, odd + at);
      }
    }
    return;
  }
  for (std::size_t c = 0; c < g.channels; ++c) {
    for (std::size_t y = 0; y < g.in_y; ++y) {
      const float* src = image + (c * g.in_y + y) * g.in_x;
      float* dst = padded + c * p.plane + (y + pby) * p.row;
      if (sx == 1) {
        copy_row(src, g.in_x, dst + pbx);
        continue;
      }
      if (sx == 2) {
        // Even source columns land in phase pbx % 2 from position pbx / 2 on, odd ones in
        // phase (pbx + 1) % 2 from (pbx + 1) / 2 on.
        float* even = dst + (pbx % 2) * p.phase_x + pbx / 2;
        float* odd = dst + ((pbx + 1) % 2) * p.phase_x + (pbx + 1) / 2;
        for (std::size_t x = 0; x < g.in_x; x += 2 * kLanes) {
          const int n = static_cast<int>(std::min<std::size_t>(2 * kLanes, g.in_x - x));
          Simd::split_even_odd(src + x, n, even + x / 2, odd + x / 2);
        }
        continue;
      }
      // Phase by phase: source columns x = first, first + sx, ... (no division per element).
      for (std::size_t phase = 0; phase < sx; ++phase) {
        const std::size_t first = (phase + sx - pbx % sx) % sx;
        float* target = dst + phase * p.phase_x + (first + pbx) / sx;
        for (std::size_t x = first; x < g.in_x; x += sx) *target++ = src[x];
      }
    }
  }
}

// Sum of n floats in a fixed order: four registers of partial sums (independent chains, so the
// adds overlap), then their lanes in order.
inline float sum_of(const float* values, std::size_t n) {
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
  float lanes[kLanes];
  Simd::store(lanes,
              Simd::add(Simd::add(partial[0], partial[1]), Simd::add(partial[2], partial[3])));
  float sum = 0.0f;
  for (const float lane : lanes) sum += lane;
  return sum;
}

// ------------------------------------------------------------------------------- forward ----

inline void forward_tables(const FastForwardPlan& p, const float* weights, const float* bias,
                           float* ws, std::size_t thread, std::size_t threads) {
  const ConvGeometry& g = p.g;
  const std::size_t taps = p.taps;
  // Each thread transposes its share of the taps: (K, taps) -> per group (taps, block_k), or
  // for the pixel-vector kernel (taps, K).
  const std::size_t t0 = share(taps, threads, thread), t1 = share(taps, threads, thread + 1);
  float* table = region(ws, p.weights);
  if (p.pixel_pairs) {
    // Per group (taps, block_k, 2): every weight twice, for the two pixels of a lane pair.
    // (Pairs are for few kernels: a plain loop, reading down the columns of W.)
    for (std::size_t k0 = 0; k0 < p.padded_k; k0 += p.block_k) {
      float* group = table + (k0 / p.block_k) * taps * 2 * p.block_k;
      for (std::size_t t = t0; t < t1; ++t) {
        for (std::size_t k = 0; k < p.block_k; ++k) {
          const float w = k0 + k < g.kernels ? weights[(k0 + k) * taps + t] : 0.0f;
          group[(t * p.block_k + k) * 2] = w;
          group[(t * p.block_k + k) * 2 + 1] = w;
        }
      }
    }
  } else if (p.mode == FastMode::kOutputVector) {
    for (std::size_t k0 = 0; k0 < p.padded_k; k0 += p.block_k) {
      float* group = table + (k0 / p.block_k) * taps * p.block_k;
      if (p.padded_k != g.kernels) {
        std::memset(group + t0 * p.block_k, 0, (t1 - t0) * p.block_k * sizeof(float));
      }
      const std::size_t rows = k0 < g.kernels ? std::min(p.block_k, g.kernels - k0) : 0;
      if (rows > 0 && t1 > t0) {
        transpose(weights + k0 * taps + t0, rows, t1 - t0, taps, group + t0 * p.block_k, p.block_k);
      }
    }
  } else if (t1 > t0) {
    transpose(weights + t0, g.kernels, t1 - t0, taps, table + t0 * g.kernels, g.kernels);
  }
  if (thread == 0) {
    if (p.mode == FastMode::kOutputVector) {
      float* padded_bias = region(ws, p.bias);
      const std::size_t copies = p.pixel_pairs ? 2 : 1;
      for (std::size_t k = 0; k < p.padded_k * copies; ++k) {
        padded_bias[k] = k / copies < g.kernels ? bias[k / copies] : 0.0f;
      }
    }
    // Tap (c, u, v) reads padded row u, phase v % sx, position v / sx of channel c.
    float* tap_table = region(ws, p.tap_table);
    std::size_t t = 0;
    for (std::size_t c = 0; c < g.channels; ++c) {
      for (std::size_t u = 0; u < g.kernel_y; ++u) {
        for (std::size_t v = 0; v < g.kernel_x; ++v, ++t) {
          const std::size_t source =
              c * p.plane + u * p.row + (v % g.stride_x) * p.phase_x + v / g.stride_x;
          const std::size_t weight = p.mode == FastMode::kOutputVector
                                         ? t * p.block_k * (p.pixel_pairs ? 2 : 1)
                                         : t * g.kernels;
          set_offset(tap_table, 2 * t, static_cast<std::ptrdiff_t>(source));
          set_offset(tap_table, 2 * t + 1, static_cast<std::ptrdiff_t>(weight));
        }
      }
    }
  }
}

inline void forward_sample_ovec(const FastForwardPlan& p, const float* padded, const float* ws,
                                float* blocked, float* output) {
  const ConvGeometry& g = p.g;
  const std::size_t out_y = g.out_y(), out_x = g.out_x(), pixels = out_y * out_x;
  const float* taps = ws + p.tap_table.offset;
  const float* table = ws + p.weights.offset;
  const float* bias = ws + p.bias.offset;
  // A block's units along a row: pixels, or pixel pairs (then every row has even length).
  const std::size_t per_unit = p.pixel_pairs ? 2 : 1;
  const std::size_t units = out_x / per_unit;
  const std::size_t pieces = (units + p.max_pixels - 1) / p.max_pixels;
  const std::size_t taps_per_channel = g.kernel_y * g.kernel_x;
  PrefetchStream destination(
      output, g.kernels * pixels,
      p.padded_k / p.block_k * ((g.channels + p.chunk - 1) / p.chunk) * out_y * pieces);
  for (std::size_t k0 = 0; k0 < p.padded_k; k0 += p.block_k) {
    float* group_out = blocked + k0 * pixels;
    for (std::size_t c0 = 0; c0 < g.channels; c0 += p.chunk) {
      const std::size_t t0 = c0 * taps_per_channel;
      const std::size_t count = std::min(p.chunk, g.channels - c0) * taps_per_channel;
      for (std::size_t i = 0; i < out_y; ++i) {
        const float* row = padded + i * g.stride_y * p.row;
        for (std::size_t piece = 0; piece < pieces; ++piece) {
          const std::size_t j0 = piece_begin(units, pieces, piece);
          const std::size_t j1 = piece_begin(units, pieces, piece + 1);
          float* dst = group_out + (i * units + j0) * kLanes;
          destination.step_for_write();
          ovec_kernel(static_cast<int>(p.blocks_k), static_cast<int>(j1 - j0), p.pixel_pairs)(
              row + j0 * per_unit, taps + 2 * t0, count, table + k0 * p.taps * per_unit,
              c0 == 0 ? bias + k0 * per_unit : dst, dst, kLanes, pixels / per_unit * kLanes);
        }
      }
    }
  }
  if (p.pixel_pairs) {
    // (K/(L/2), pixel pairs, L/2 channels, 2) -> (K, pixels): the two pixels of a channel's
    // lane pair are neighbours in the output too, so they move together (a transpose of pairs).
    constexpr std::size_t kChannels = kLanes / 2;
    for (std::size_t k0 = 0; k0 < g.kernels; k0 += kChannels) {
      transpose_pairs(blocked + k0 * pixels, pixels / 2, std::min(kChannels, g.kernels - k0),
                      output + k0 * pixels, pixels);
    }
    return;
  }
  // Channel-blocked (K/L, pixels, L) -> (K, pixels).
  for (std::size_t k0 = 0; k0 < g.kernels; k0 += kLanes) {
    transpose(blocked + k0 * pixels, pixels, std::min<std::size_t>(kLanes, g.kernels - k0), kLanes,
              output + k0 * pixels, pixels);
  }
}

inline void forward_sample_pvec(const FastForwardPlan& p, const float* padded, const float* ws,
                                const float* bias, float* output) {
  const ConvGeometry& g = p.g;
  const std::size_t out_y = g.out_y(), out_x = g.out_x(), pixels = out_y * out_x;
  const float* taps = ws + p.tap_table.offset;
  const float* table = ws + p.weights.offset;
  const std::size_t out_pieces = (g.kernels + p.block_out - 1) / p.block_out;
  for (std::size_t j0 = 0; j0 < out_x; j0 += kLanes) {
    const int valid = static_cast<int>(std::min<std::size_t>(kLanes, out_x - j0));
    for (std::size_t i0 = 0; i0 < out_y; i0 += p.block_rows) {
      const std::size_t rows = std::min(p.block_rows, out_y - i0);
      for (std::size_t piece = 0; piece < out_pieces; ++piece) {
        const std::size_t k0 = piece_begin(g.kernels, out_pieces, piece);
        const std::size_t k1 = piece_begin(g.kernels, out_pieces, piece + 1);
        pvec_kernel(static_cast<int>(k1 - k0), static_cast<int>(rows))(
            padded + i0 * g.stride_y * p.row + j0, g.stride_y * p.row, taps, p.taps, table + k0,
            bias + k0, valid, output + k0 * pixels + i0 * out_x + j0, pixels, out_x);
      }
    }
  }
}

inline void conv2d_forward_fast(const FastForwardPlan& p, const float* input, const float* weights,
                                const float* bias, float* output, float* ws) {
  const ConvGeometry& g = p.g;
  const std::size_t in_size = g.channels * g.in_y * g.in_x;
  const std::size_t out_size = g.kernels * g.out_y() * g.out_x();
  // What one thread of the team does, or the calling thread alone (in_team false): one thread
  // does not enter a parallel region at all (kernels/parallel.hpp says why).
  const auto work = [&](std::size_t thread, std::size_t threads, bool in_team) {
    forward_tables(p, weights, bias, ws, thread, threads);
    float* padded = region(ws, p.input, thread);
    std::memset(padded, 0, p.input.size * sizeof(float));
    const auto sample = [&](std::size_t b) {
      fill_polyphase(p, input + b * in_size, padded);
      if (p.mode == FastMode::kOutputVector) {
        forward_sample_ovec(p, padded, ws, region(ws, p.output, thread), output + b * out_size);
      } else {
        forward_sample_pvec(p, padded, ws, bias, output + b * out_size);
      }
    };
    if (!in_team) {
      for (std::size_t b = 0; b < g.batch; ++b) sample(b);
      return;
    }
#pragma omp barrier
#pragma omp for schedule(dynamic, 1) nowait
    for (std::size_t b = 0; b < g.batch; ++b) sample(b);
  };
  on_team(p.threads, work);
}

// ------------------------------------------------------------------------------ backward ----

// Taps of the input error, phase by phase. Output pixel (y, x) with y % sy = py, x % sx = px
// receives W[k, c, u, v] * E[k, i, j] exactly where i*sy + u = y + pad_y_before (and likewise in
// x): for phase pixel (yy, xx) that is i = yy + du with du = (py + pad_y_before - u) / sy.
// Writes the taps of every phase in order and their start indices to `starts`
// (sy*sx + 1 entries).
inline void backward_taps(const FastBackwardPlan& p, float* taps, float* position,
                          std::size_t* starts) {
  const ConvGeometry& g = p.g;
  const auto sy = static_cast<std::ptrdiff_t>(g.stride_y);
  const auto sx = static_cast<std::ptrdiff_t>(g.stride_x);
  const auto pby = static_cast<std::ptrdiff_t>(g.pad_y_before());
  const auto pbx = static_cast<std::ptrdiff_t>(g.pad_x_before());
  const std::size_t per_kernel = g.kernel_y * g.kernel_x;
  std::size_t t = 0;
  for (std::ptrdiff_t py = 0; py < sy; ++py) {
    for (std::ptrdiff_t px = 0; px < sx; ++px) {
      starts[py * sx + px] = t;
      for (std::size_t k = 0; k < g.kernels; ++k) {
        for (std::size_t u = 0; u < g.kernel_y; ++u) {
          const std::ptrdiff_t ny = py + pby - static_cast<std::ptrdiff_t>(u);
          if (((ny % sy) + sy) % sy != 0) continue;
          for (std::size_t v = 0; v < g.kernel_x; ++v) {
            const std::ptrdiff_t nx = px + pbx - static_cast<std::ptrdiff_t>(v);
            if (((nx % sx) + sx) % sx != 0) continue;
            const std::ptrdiff_t source = static_cast<std::ptrdiff_t>(k * p.error_plane) +
                                          (ny / sy) * static_cast<std::ptrdiff_t>(p.error_x) +
                                          nx / sx;
            const std::size_t tap = k * per_kernel + u * g.kernel_x + v;
            // ovec: weights stored in phase order (t); pvec (one phase): in tap order.
            const std::size_t weight =
                p.mode == FastMode::kOutputVector ? t * p.block_c : tap * g.channels;
            set_offset(taps, 2 * t, source);
            set_offset(taps, 2 * t + 1, static_cast<std::ptrdiff_t>(weight));
            if (p.mode == FastMode::kOutputVector) {
              set_offset(position, tap, static_cast<std::ptrdiff_t>(t));
            }
            ++t;
          }
        }
      }
    }
  }
  starts[sy * sx] = t;
}

inline void backward_tables(const FastBackwardPlan& p, const float* weights, float* ws,
                            std::size_t thread, std::size_t threads) {
  const ConvGeometry& g = p.g;
  const std::size_t per_kernel = g.kernel_y * g.kernel_x;
  const std::size_t taps = g.kernels * per_kernel;
  // Kernel k's (C, m*n) slice -> (m*n, C): for the output-vector kernel per channel group, each
  // row to its place in phase order (C/block_c, taps in phase order, block_c) by way of a
  // scratch of one kernel's rows; for the pixel-vector kernel (K*m*n, C) in tap order.
  const bool ovec = p.mode == FastMode::kOutputVector;
  float* table = region(ws, p.dx_weights);
  float* rows_of_kernel = region(ws, p.dx_staging, thread);
  const float* position = ws + p.dx_position.offset;
  const std::size_t k0 = share(g.kernels, threads, thread);
  const std::size_t k1 = share(g.kernels, threads, thread + 1);
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
    for (std::size_t c0 = 0; c0 < p.padded_c; c0 += p.block_c) {
      const std::size_t channels = c0 < g.channels ? std::min(p.block_c, g.channels - c0) : 0;
      if (channels < p.block_c) {
        std::memset(rows_of_kernel, 0, per_kernel * p.block_c * sizeof(float));
      }
      if (channels > 0) {
        transpose(slice + c0 * per_kernel, channels, per_kernel, per_kernel, rows_of_kernel,
                  p.block_c);
      }
      float* group = table + (c0 / p.block_c) * taps * p.block_c;
      for (std::size_t uv = 0; uv < per_kernel; ++uv) {
        const auto t = static_cast<std::size_t>(offset_at(position, k * per_kernel + uv));
        copy_row(rows_of_kernel + uv * p.block_c, p.block_c, group + t * p.block_c);
      }
    }
  }
}

// Input error of one sample: E (K, Y', X') padded into `error`, result into input_error.
inline void input_error_sample(const FastBackwardPlan& p, const float* ws,
                               const std::size_t* starts, const float* error, float* padded_error,
                               float* blocked, float* input_error) {
  const ConvGeometry& g = p.g;
  const std::size_t out_y = g.out_y(), out_x = g.out_x();
  for (std::size_t k = 0; k < g.kernels; ++k) {
    for (std::size_t i = 0; i < out_y; ++i) {
      copy_row(error + (k * out_y + i) * out_x, out_x,
               padded_error + k * p.error_plane + (i + p.error_pad_y_before) * p.error_x +
                   p.error_pad_x_before);
    }
  }
  const float* taps = ws + p.dx_taps.offset;
  const float* table = ws + p.dx_weights.offset;
  const std::size_t plane = g.in_y * g.in_x;
  if (p.mode == FastMode::kPixelVector) {
    // Stride 1: one phase, pixels (y, x) read E rows y + du and columns x + dv.
    const std::size_t pieces = (g.channels + p.block_out - 1) / p.block_out;
    for (std::size_t x0 = 0; x0 < g.in_x; x0 += kLanes) {
      const int valid = static_cast<int>(std::min<std::size_t>(kLanes, g.in_x - x0));
      for (std::size_t y0 = 0; y0 < g.in_y; y0 += p.block_rows) {
        const std::size_t rows = std::min(p.block_rows, g.in_y - y0);
        for (std::size_t piece = 0; piece < pieces; ++piece) {
          const std::size_t c0 = piece_begin(g.channels, pieces, piece);
          const std::size_t c1 = piece_begin(g.channels, pieces, piece + 1);
          pvec_kernel(static_cast<int>(c1 - c0), static_cast<int>(rows))(
              padded_error + (y0 + p.error_pad_y_before) * p.error_x + x0 + p.error_pad_x_before,
              p.error_x, taps, starts[1], table + c0, nullptr, valid,
              input_error + c0 * plane + y0 * g.in_x + x0, plane, g.in_x);
        }
      }
    }
    return;
  }
  const std::size_t sy = g.stride_y, sx = g.stride_x;
  std::size_t steps = 0;  // register-block calls below, over which to prefetch input_error
  for (std::size_t py = 0; py < std::min(sy, g.in_y); ++py) {
    for (std::size_t px = 0; px < std::min(sx, g.in_x); ++px) {
      const std::size_t phase_x = (g.in_x - px + sx - 1) / sx;
      steps += (g.in_y - py + sy - 1) / sy * ((phase_x + p.max_pixels - 1) / p.max_pixels);
    }
  }
  PrefetchStream destination(
      input_error, g.channels * plane,
      steps * (p.padded_c / p.block_c) * ((g.kernels + p.chunk - 1) / p.chunk));
  for (std::size_t c0 = 0; c0 < p.padded_c; c0 += p.block_c) {
    const float* group = table + (c0 / p.block_c) * g.kernels * g.kernel_y * g.kernel_x * p.block_c;
    for (std::size_t k0 = 0; k0 < g.kernels; k0 += p.chunk) {
      const std::size_t kernels = std::min(p.chunk, g.kernels - k0);
      for (std::size_t py = 0; py < std::min(sy, g.in_y); ++py) {
        for (std::size_t px = 0; px < std::min(sx, g.in_x); ++px) {
          // The phase's taps are kernel-major, the same number for every kernel.
          const std::size_t phase = py * sx + px;
          const std::size_t per_kernel = (starts[phase + 1] - starts[phase]) / g.kernels;
          const float* phase_taps = taps + 2 * (starts[phase] + k0 * per_kernel);
          const std::size_t phase_y = (g.in_y - py + sy - 1) / sy;
          const std::size_t phase_x = (g.in_x - px + sx - 1) / sx;
          const std::size_t pieces = (phase_x + p.max_pixels - 1) / p.max_pixels;
          for (std::size_t yy = 0; yy < phase_y; ++yy) {
            const float* row =
                padded_error + (yy + p.error_pad_y_before) * p.error_x + p.error_pad_x_before;
            for (std::size_t piece = 0; piece < pieces; ++piece) {
              const std::size_t x0 = piece_begin(phase_x, pieces, piece);
              const std::size_t x1 = piece_begin(phase_x, pieces, piece + 1);
              float* dst = blocked + c0 * plane + ((py + sy * yy) * g.in_x + px + sx * x0) * kLanes;
              destination.step_for_write();
              ovec_kernel(static_cast<int>(p.blocks_c), static_cast<int>(x1 - x0))(
                  row + x0, phase_taps, kernels * per_kernel, group, k0 == 0 ? nullptr : dst, dst,
                  sx * kLanes, plane * kLanes);
            }
          }
        }
      }
    }
  }
  for (std::size_t c0 = 0; c0 < g.channels; c0 += kLanes) {
    transpose(blocked + c0 * plane, plane, std::min<std::size_t>(kLanes, g.channels - c0), kLanes,
              input_error + c0 * plane, plane);
  }
}

// Weight-gradient pass over the samples now in `input` (zero-padded, no phases) and `error_t`
// (pixel-major), adding onto this thread's partial sums.
inline void weight_gradient_pass(const FastBackwardPlan& p, const float* ws, std::size_t samples,
                                 const float* input, const float* error_t, const float* error,
                                 bool fresh, float* partial) {
  const ConvGeometry& g = p.g;
  if (p.dw_mode == FastMode::kPixelVector) {
    // error: E of the pass's first sample, (K, Y', X') per sample, as given.
    const std::size_t out_pixels = g.out_y() * g.out_x();
    const std::size_t pieces = (g.kernels + p.dw_block_out - 1) / p.dw_block_out;
    for (std::size_t c = 0; c < g.channels; ++c) {
      for (std::size_t u = 0; u < g.kernel_y; ++u) {
        const float* x = input + c * p.plain_plane + u * p.plain_x;
        float* row_partial = partial + (c * g.kernel_y + u) * g.kernels * g.kernel_x * kLanes;
        for (std::size_t piece = 0; piece < pieces; ++piece) {
          const std::size_t k0 = piece_begin(g.kernels, pieces, piece);
          const std::size_t k1 = piece_begin(g.kernels, pieces, piece + 1);
          dwp_kernel(static_cast<int>(k1 - k0), static_cast<int>(g.kernel_x))(
              x, g.channels * p.plain_plane, g.stride_y * p.plain_x, error + k0 * out_pixels,
              g.kernels * out_pixels, out_pixels, samples, g.out_y(), g.out_x(), fresh,
              row_partial + k0 * g.kernel_x * kLanes);
        }
      }
    }
    return;
  }
  const std::size_t pixels = samples * g.out_y() * g.out_x();
  const float* pixel_table = ws + p.pixel_table.offset;
  const std::size_t kernel_rows = g.channels * g.kernel_y;
  const std::size_t row_stride = g.kernel_x * p.dw_padded_k;
  const int columns = static_cast<int>(g.kernel_x);
  const int blocks = static_cast<int>(p.dw_blocks_k);
  const DwFn full = dw_kernel(blocks, true, columns);
  const DwFn single = dw_kernel(blocks, false, columns);
  const float* bases[Simd::kMaxAccumulators];
  for (std::size_t k0 = 0; k0 < p.dw_padded_k; k0 += p.dw_block_k) {
    for (std::size_t r0 = 0; r0 < kernel_rows;) {
      const std::size_t rows = kernel_rows - r0 >= p.dw_rows ? p.dw_rows : 1;
      for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t c = (r0 + r) / g.kernel_y, u = (r0 + r) % g.kernel_y;
        bases[r] = input + c * p.plain_plane + u * p.plain_x;
      }
      (rows == p.dw_rows ? full : single)(bases, pixel_table, pixels, error_t + k0, p.dw_padded_k,
                                          fresh, partial + r0 * row_stride + k0, row_stride,
                                          p.dw_padded_k);
      r0 += rows;
    }
  }
}

inline void conv2d_backward_fast(const FastBackwardPlan& p, const float* input,
                                 const float* weights, const float* error, float* input_error,
                                 float* weight_gradient, float* bias_gradient, float* ws) {
  const ConvGeometry& g = p.g;
  const std::size_t in_size = g.channels * g.in_y * g.in_x;
  const std::size_t pixels = g.out_y() * g.out_x();
  const std::size_t out_size = g.kernels * pixels;
  const std::size_t dw_rows_total = g.channels * g.kernel_y * g.kernel_x;
  std::size_t starts[kFastMaxStride * kFastMaxStride + 1];
  backward_taps(p, region(ws, p.dx_taps), region(ws, p.dx_position), starts);
  {
    // Pixel offsets of a weight-gradient pass: sample s, output pixel (i, j).
    float* table = region(ws, p.pixel_table);
    const std::size_t sample_stride = g.channels * p.plain_plane;
    std::size_t n = 0;
    for (std::size_t s = 0; s < p.samples_per_pass; ++s) {
      for (std::size_t i = 0; i < g.out_y(); ++i) {
        for (std::size_t j = 0; j < g.out_x(); ++j, ++n) {
          set_offset(table, n,
                     static_cast<std::ptrdiff_t>(s * sample_stride + i * g.stride_y * p.plain_x +
                                                 j * g.stride_x));
        }
      }
    }
  }
  // What one thread of the team does, or the calling thread alone (in_team false): one thread
  // does not enter a parallel region at all (kernels/parallel.hpp says why).
  const auto work = [&](std::size_t thread, std::size_t threads, bool in_team) {
    float* padded_error = region(ws, p.error, thread);
    float* blocked = region(ws, p.dx_blocked, thread);
    float* dw_input = region(ws, p.dw_input, thread);
    float* error_t = region(ws, p.dw_error, thread);
    if (input_error != nullptr) {  // null: not wanted (the first layer of a network)
      backward_tables(p, weights, ws, thread, threads);
      std::memset(padded_error, 0, p.error.size * sizeof(float));
    }
    std::memset(dw_input, 0, p.dw_input.size * sizeof(float));
    std::memset(error_t, 0, p.dw_error.size * sizeof(float));
    const auto group_work = [&](std::size_t group) {
      // The group's partial sums start from zero in its first pass (no memset of its own).
      float* partial = region(ws, p.dw_partial, group);
      float* bias_partial = region(ws, p.db_partial, group);
      std::memset(bias_partial, 0, p.db_partial.size * sizeof(float));
      const std::size_t b0 = share(g.batch, p.groups, group);
      const std::size_t b1 = share(g.batch, p.groups, group + 1);
      for (std::size_t pass = b0; pass < b1; pass += p.samples_per_pass) {
        const std::size_t samples = std::min(p.samples_per_pass, b1 - pass);
        for (std::size_t s = 0; s < samples; ++s) {
          const std::size_t b = pass + s;
          // The pass's copies: padded input and pixel-major E (its bias sums on the way).
          const float* image = input + b * in_size;
          float* padded = dw_input + s * g.channels * p.plain_plane;
          for (std::size_t c = 0; c < g.channels; ++c) {
            for (std::size_t y = 0; y < g.in_y; ++y) {
              copy_row(image + (c * g.in_y + y) * g.in_x, g.in_x,
                       padded + c * p.plain_plane + (y + g.pad_y_before()) * p.plain_x +
                           g.pad_x_before());
            }
          }
          if (p.dw_mode == FastMode::kPixelVector) {
            for (std::size_t k = 0; k < g.kernels; ++k) {
              bias_partial[k] += sum_of(error + b * out_size + k * pixels, pixels);
            }
            continue;
          }
          float* sample_t = error_t + s * pixels * p.dw_padded_k;
          transpose(error + b * out_size, g.kernels, pixels, pixels, sample_t, p.dw_padded_k);
          for (std::size_t k0 = 0; k0 < p.dw_padded_k; k0 += kLanes) {
            Reg sum = Simd::load(bias_partial + k0);
            for (std::size_t q = 0; q < pixels; ++q) {
              sum = Simd::add(sum, Simd::load(sample_t + q * p.dw_padded_k + k0));
            }
            Simd::store(bias_partial + k0, sum);
          }
        }
        weight_gradient_pass(p, ws, samples, dw_input, error_t, error + pass * out_size, pass == b0,
                             partial);
      }
    };
    const auto sample_work = [&](std::size_t b) {
      input_error_sample(p, ws, starts, error + b * out_size, padded_error, blocked,
                         input_error + b * in_size);
    };
    // The weight-gradient groups first, then the input error sample by sample: a thread done
    // with its groups goes on to samples, and the small pieces at the end even out what the
    // few big ones left uneven (one group per thread or two: a core slowed down for a while
    // left the other waiting up to a tenth of the call).
    if (in_team) {
#pragma omp barrier
#pragma omp for schedule(dynamic, 1) nowait
      for (std::size_t group = 0; group < p.groups; ++group) group_work(group);
      if (input_error != nullptr) {
#pragma omp for schedule(dynamic, 1)
        for (std::size_t b = 0; b < g.batch; ++b) sample_work(b);
      } else {
#pragma omp barrier
      }
      // either way every group and sample is done here
    } else {
      for (std::size_t group = 0; group < p.groups; ++group) group_work(group);
      if (input_error != nullptr) {
        for (std::size_t b = 0; b < g.batch; ++b) sample_work(b);
      }
    }
    if (p.dw_mode == FastMode::kPixelVector) {
      // dW[k, c, u, v] = sum over groups (in order) of the sum over lanes (in order) of the
      // partial (c, u, k, v, lane); each thread takes a share of the elements.
      const std::size_t per_row = g.kernels * g.kernel_x, rows = g.channels * g.kernel_y;
      const std::size_t e0 = share(rows * per_row, threads, thread);
      const std::size_t e1 = share(rows * per_row, threads, thread + 1);
      for (std::size_t element = e0; element < e1; ++element) {
        float sum = 0.0f;
        for (std::size_t group = 0; group < p.groups; ++group) {
          const float* lanes = region(ws, p.dw_partial, group) + element * kLanes;
          float group_sum = 0.0f;
          for (int l = 0; l < kLanes; ++l) group_sum += lanes[l];
          sum += group_sum;
        }
        const std::size_t row = element / per_row, k = element % per_row / g.kernel_x;
        const std::size_t v = element % g.kernel_x;
        weight_gradient[(k * rows + row) * g.kernel_x + v] = sum;
      }
    }
    // Sum the partials in group order while transposing (C*m*n, K) -> (K, C*m*n), each thread
    // over its share of the kernel rows.
    const std::size_t r0 =
        p.dw_mode == FastMode::kPixelVector ? 0 : share(dw_rows_total, threads, thread);
    const std::size_t r1 =
        p.dw_mode == FastMode::kPixelVector ? 0 : share(dw_rows_total, threads, thread + 1);
    if (r1 > r0) {
      transpose_sum(region(ws, p.dw_partial) + r0 * p.dw_padded_k, p.groups, p.dw_partial.size,
                    r1 - r0, g.kernels, p.dw_padded_k, weight_gradient + r0, dw_rows_total);
    }
    if (thread == 0) {
      for (std::size_t k = 0; k < g.kernels; ++k) {
        float sum = 0.0f;
        for (std::size_t group = 0; group < p.groups; ++group) {
          sum += region(ws, p.db_partial, group)[k];
        }
        bias_gradient[k] = sum;
      }
    }
  };
  on_team(p.threads, work);
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
